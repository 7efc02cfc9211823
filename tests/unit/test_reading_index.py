"""`kb.learned.ReadingIndex.near` skips shortlisted rows whose trigram overlap cannot lift them to the cut (the
overlap is at most the smaller set over the larger): what it finds is exactly what comparing every shortlisted
row finds."""

from __future__ import annotations

import random

import numpy as np
import pytest

from kb.learned import SHORTLIST, ReadingIndex
from kb.near_repeat import NearRepeat, Reading, trigrams

pytestmark = pytest.mark.unit

WORDS = ("suiker kanker voedt klopt het dat zeg me fabeltje bestraling olie helpt tegen koffie collega zweert "
         "erbij iemand ervaring beugelbh lymfe plastic flesje zomer auto vaccin neef").split()


def _every_shortlisted(index: ReadingIndex, reading: Reading, cut: float | None = None) -> list[tuple[int, float]]:
    """`near` as it was before the bound: the exact similarity of every shortlisted row (at or above `cut`)."""
    cosines = index.centred @ reading.centred
    rows = np.flatnonzero(cosines >= index.measure.cosine_floor)
    if len(rows) > SHORTLIST:
        rows = rows[np.argpartition(-cosines[rows], SHORTLIST - 1)[:SHORTLIST]]
    found = [(int(r), round(index.measure.similarity(Reading(index.centred[r], index.grams[r]), reading), 6))
             for r in rows]
    line = index.measure.cut if cut is None else cut
    return sorted([f for f in found if f[1] >= line], key=lambda f: (-f[1], index.ids[f[0]]))


def test_the_overlap_bound_skips_rows_and_never_changes_what_is_found() -> None:
    rng, pick = np.random.default_rng(3), random.Random(3)
    measure = NearRepeat("test/m", np.zeros(16, np.float32), cut=0.63, precision=0.99, fitted_on="unit test")
    base = rng.normal(size=(40, 16)).astype(np.float32)
    texts, vectors = [], []
    for i in range(2_000):  # 40 subjects, each written many ways: near-repeats, near misses and strangers
        words = pick.sample(WORDS, pick.randint(2, 9))
        texts.append(" ".join(words) if i % 3 else "")  # a third with no trigrams at all
        vectors.append(base[i % 40] + rng.normal(scale=pick.choice((0.1, 0.5, 1.5)), size=16).astype(np.float32))
    index = ReadingIndex.build(measure, [(f"p{i}", t, v) for i, (t, v) in enumerate(zip(texts, vectors, strict=True))])
    skipped = found = 0
    for i in range(300):
        row = pick.randrange(len(texts))
        text = texts[row] if i % 2 else " ".join(pick.sample(WORDS, pick.randint(1, 9)))
        reading = measure.read(text, vectors[row] + rng.normal(scale=0.2, size=16).astype(np.float32))
        want = _every_shortlisted(index, reading)
        assert index.near(reading) == want
        found += bool(want)
        shortlisted = _every_shortlisted(index, reading, cut=-1.0)
        skipped += sum((cosine_of(index, r, reading) + _most(index, r, reading)) / 2 < measure.cut
                       for r, _ in shortlisted)
    assert found > 50 and skipped > 1_000  # both cases were exercised: near-repeats found, rows skipped


def cosine_of(index: ReadingIndex, row: int, reading: Reading) -> float:
    return float(index.centred[row] @ reading.centred)


def _most(index: ReadingIndex, row: int, reading: Reading) -> float:
    a, b = len(index.grams[row]), len(reading.grams)
    return min(a, b) / max(a, b, 1)


def test_two_empty_texts_are_not_near_by_their_overlap() -> None:
    measure = NearRepeat("test/m", np.zeros(2, np.float32), cut=0.63, precision=0.99, fitted_on="unit test")
    index = ReadingIndex.build(measure, [("p", "", np.array([1.0, 0.0], np.float32))])
    assert trigrams("") == frozenset()
    assert index.near(measure.read("", np.array([1.0, 0.0], np.float32))) == []  # cosine 1, overlap 0: 0.5 < cut
