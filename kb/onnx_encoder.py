"""A fast encoder: the configured sentence-transformers model exported to ONNX once, run by onnxruntime.

Export happens on first use into `<KB_ENCODER_DIR or data dir/onnx>/<model>/`, offline, with torch's own
exporter. Dynamic int8 quantisation is applied with care: every MatMul per channel except the two that lose the
most accuracy in int8 (see `_keep_fp32`); the result is kept only if its cosine to the sentence-transformers
reference is at least `MIN_COSINE` for every probe sentence, otherwise the fp32 graph is used. An export made by
an older `RECIPE` is redone, and the encoder's model id names the recipe, so the embedding cache and the index
fingerprint never mix vectors of two graphs. Queries then need onnxruntime and `tokenizers` only: torch is not
imported.

    >>> embedder = OnnxEmbedder.load(settings)  # doctest: +SKIP
    >>> embedder.model_id, embedder.variant  # doctest: +SKIP
    ('sentence-transformers/all-MiniLM-L6-v2+onnx-int8-r2', 'int8')
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb.config import Settings
from kb.errors import ConfigError
from kb.models import ModelSpec, TextKind, resolve_model

MIN_COSINE = 0.98
#: The export and quantisation recipe. Bump it whenever either changes: older exports are then redone, and the
#: model id changes with it (r2: two fp32 MatMuls instead of seven, see `_keep_fp32`).
RECIPE = 2
#: onnxruntime's SkipLayerNormFusion swaps Add + LayerNormalization for its SkipLayerNormalization kernel, which
#: measured 4-5 times slower here (onnxruntime 1.32, one thread, 27 tokens: 68 us against 15 us for the pair) and
#: cost 0.55 ms of the 3.5 ms a message took; without it outputs agree to 3e-6.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
#: Texts of at most this many tokens go through the fp32 graph: int8 noise does not average out over one or two
#: words ("thanks" fell to 0.975), and such texts cost next to nothing in fp32.
SHORT_TOKENS = 8
#: Probe sentences for the accuracy check: Dutch and English, short and long, social-media style.
PROBES = (
    "klopt het dat suiker kanker voedt?? mn schoonmoeder eet geen fruit meer",
    "Mijn tante zegt dat je met baking soda kanker kan genezen, is dat waar?",
    "hoe stop ik mijn maandelijkse donatie",
    "Waarom is mijn reactie verwijderd? Jullie censureren gewoon kritiek!",
    "ik heb net de diagnose gekregen en weet niet waar ik heen moet 😢",
    "5G mast naast de school, gevaarlijk??",
    "does wifi cause cancer",
    "My mum stopped eating fruit because sugar feeds her tumour, is she right?",
    "how do I cancel my direct debit, you are still taking money after I cancelled",
    "Alle cellen in je lichaam gebruiken suiker als brandstof, ook kankercellen. Maar als je stopt met suiker eten, "
    "maakt je lichaam zelf glucose aan uit andere voeding, dus je hongert een tumor er niet mee uit.",
    "Wifi uses low-energy radio waves, the same kind used for radio and TV for many decades.",
    "thanks!! ❤️",
)


def _slug(model_id: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]+", "_", model_id)


def export_dir(settings: Settings) -> Path:
    return settings.encoder_path / _slug(resolve_model(settings.model).model_id)


class OnnxEmbedder:
    """The `Embedder` interface over an exported graph; vectors are mean-pooled and L2-normalised like the
    reference."""

    def __init__(self, folder: Path, base_model_id: str, *, threads: int = 1, batch_size: int = 16,
                 prefixes: dict[str, str] | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        manifest = json.loads((folder / "manifest.json").read_text())
        self.variant: str = manifest["variant"]
        self.manifest = manifest
        self.model_id = f"{base_model_id}+onnx-{self.variant}-r{manifest.get('recipe', 1)}"
        self.dim = int(manifest["dim"])
        self.prefixes = prefixes or {}
        self.batch_size = batch_size  # for the fp32 graph: 16 measured fastest on 2 cores (32: -25%, 64: -40%)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))  # unpadded: batches are padded here
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(int(manifest["max_length"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # one per worker, as for torch: it holds up under contention
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        def session(variant: str) -> Any:
            return ort.InferenceSession(str(folder / f"model.{variant}.onnx"), options,
                                        providers=["CPUExecutionProvider"], disabled_optimizers=DISABLED_OPTIMIZERS)

        self._session = session(self.variant)
        self._short = self._session
        if self.variant != "fp32" and (folder / "model.fp32.onnx").exists():
            self._short = session("fp32")
        self._inputs = {i.name for i in self._session.get_inputs()}

    @classmethod
    def load(cls, settings: Settings, spec: ModelSpec | None = None) -> OnnxEmbedder:
        """The exported encoder for the configured model, exporting it first if this data dir has none."""
        spec = spec or resolve_model(settings.model)
        if spec.location is None:
            raise ConfigError(f"encoder: {spec.name} is not a sentence-transformers model and has no ONNX export")
        folder = export_dir(settings)
        if _recipe(folder) != RECIPE:
            export(spec.location, folder)
        return cls(folder, spec.model_id, threads=settings.encoder_threads, prefixes=dict(spec.prefixes))

    def embed(self, texts: Sequence[str], *, kind: TextKind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = self.prefixes.get(kind, "")
        if prefix:
            texts = [prefix + t for t in texts]
        # Batch texts of similar length together, as sentence-transformers does: padding is wasted work.
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        short = [i for i in order if lengths[i] <= SHORT_TOKENS]
        long = [i for i in order if lengths[i] > SHORT_TOKENS]
        # The int8 graph quantises its activations per call (one scale for the whole batch), so a text's vector
        # would depend on the texts beside it (cosine down to 0.988 against the same text alone, and `kb eval
        # diff` saw answers move for messages no edit touched). It embeds one text per call: every vector is then
        # a function of its text alone, the same at index and query time, and sorted texts need no padding, so
        # it costs nothing (measured: 61 chunks/s one by one, 61 in batches of 16).
        int8_batch = 1 if self._session is not self._short else self.batch_size
        for rows_all, session, size in ((short, self._short, self.batch_size), (long, self._session, int8_batch)):
            for start in range(0, len(rows_all), size):
                rows = rows_all[start:start + size]
                out[rows] = self._encode([encodings[i] for i in rows], session)
        return out

    def _encode(self, encoded: list[Any], session: Any) -> np.ndarray:
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)  # 0 is [PAD], masked out below
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def _keep_fp32(model: Any) -> list[str]:
    """MatMuls left in fp32: the feed-forward output projections ([4h, h], fed by GELU) of the first two layers.

    Chosen by measurement on the golden messages over 8 tokens (all-MiniLM-L6-v2, per-channel int8): with every
    MatMul in int8 the worst cosine to the reference was 0.982; leaving one MatMul in fp32 at a time, layer 0's
    output projection helped most (0.987), then, with that one kept, layer 1's (0.989). Recipe 1 kept all six
    output projections and one input projection for 0.990, at 1.3 ms more per message with VNNI int8 kernels.
    """
    shapes = {init.name: list(init.dims) for init in model.graph.initializer}
    down = []
    for node in model.graph.node:  # topological order: layer 0 first
        if node.op_type != "MatMul":
            continue
        dims = next((shapes[i] for i in node.input if i in shapes), None)
        if dims and len(dims) == 2 and dims[0] == 4 * dims[1]:
            down.append(node.name)
    return down[:2]


def _recipe(folder: Path) -> int | None:
    try:
        return int(json.loads((folder / "manifest.json").read_text()).get("recipe", 1))
    except (OSError, ValueError):
        return None


def export(location: str, folder: Path) -> dict[str, Any]:
    """Export `location` (a sentence-transformers folder) to `folder`; return the manifest written there.

    The export is built beside `folder` and swapped in whole: a crash half-way leaves the old export (or none),
    never a manifest that names an unchecked graph.
    """
    work = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    old = folder.with_name(f".{folder.name}.{os.getpid()}.old")
    shutil.rmtree(work, ignore_errors=True)
    try:
        manifest = _export_into(location, work)
        if folder.exists():
            folder.rename(old)
        try:
            work.rename(folder)
        except OSError:
            if old.exists() and not folder.exists():
                old.rename(folder)  # the previous export stays rather than none
            if _recipe(folder) != RECIPE:  # not another process's export of the same recipe: a real failure
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return manifest


@contextlib.contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """The loggers `names` ("" for the root) at ERROR or above for the block, and as they were after it."""
    loggers = [logging.getLogger(name or None) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.level, logging.ERROR))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _export_into(location: str, folder: Path) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        import onnx
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process
        from sentence_transformers import SentenceTransformer
        from transformers import AutoModel, AutoTokenizer
    except ImportError as e:  # pragma: no cover - installation problem
        raise ConfigError(f"encoder: exporting to ONNX needs torch, onnx, onnxscript and onnxruntime: {e}") from e

    import transformers

    transformers.utils.logging.disable_progress_bar()
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
    model = AutoModel.from_pretrained(location, local_files_only=True).eval()
    reference = SentenceTransformer(location, device="cpu", local_files_only=True)
    max_length = int(reference.max_seq_length or 256)
    sample = tokenizer(["hallo wereld, dit is een test"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=max_length)
    fp32 = folder / "model.fp32.onnx"
    # The exporter and quantiser narrate every step on stdout, stderr and the warnings channel: keep a clean CLI.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
            warnings.catch_warnings(), _quiet("torch"):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(sample[n] for n in names), str(fp32), input_names=names,
                          output_names=["last_hidden_state"], dynamo=True, external_data=False, verbose=False,
                          dynamic_shapes={n: {0: batch, 1: seq} for n in names})
        pre = folder / "model.pre.onnx"
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    int8 = folder / "model.int8.onnx"
    with warnings.catch_warnings(), _quiet(""):  # the quantiser logs through the root logger
        warnings.simplefilter("ignore")
        quantize_dynamic(str(pre), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=_keep_fp32(onnx.load(str(pre))))
    pre.unlink()
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))

    expected = reference.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
    manifest: dict[str, Any] = {"source": location, "dim": int(expected.shape[1]), "max_length": max_length,
                                "torch": torch.__version__, "min_cosine_required": MIN_COSINE, "recipe": RECIPE}
    for variant in ("int8", "fp32"):
        manifest["variant"] = variant
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        got = OnnxEmbedder(folder, "probe").embed(list(PROBES), kind="passage")
        cosines = (got * expected).sum(axis=1)
        manifest[f"{variant}_min_cosine"] = round(float(cosines.min()), 4)
        manifest[f"{variant}_mean_cosine"] = round(float(cosines.mean()), 4)
        if cosines.min() >= MIN_COSINE:
            break
    else:
        raise ConfigError(f"encoder: the ONNX export of {location} does not match the reference "
                          f"(min cosine {manifest['fp32_min_cosine']})")
    manifest["export_seconds"] = round(time.perf_counter() - started, 1)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
