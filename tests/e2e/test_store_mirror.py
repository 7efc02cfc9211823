"""Local mode's in-memory mirror (kb.mirror) answers exactly as Qdrant's own local-mode query does, and follows
writes: same ids, same order, same scores to float32 precision, for dense and lexical (IDF) search."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from kb.config import Settings
from kb.lexical import SparseVec
from kb.store import Point, QdrantStore

pytestmark = pytest.mark.e2e


def _points(rng: np.random.Generator, start: int, n: int) -> list[Point]:
    out = []
    for i in range(start, start + n):
        vector = rng.standard_normal(16).astype(np.float32)
        terms = sorted({int(t) for t in rng.integers(0, 40, size=5)})
        out.append(Point(str(uuid.UUID(int=i)), {"article_id": f"a{i // 3}", "text": f"t{i}"}, vector,
                         SparseVec(tuple(terms), tuple(float(w) for w in rng.uniform(0.2, 2.0, len(terms))))))
    return out


def _compare(store: QdrantStore, name: str, rng: np.random.Generator) -> None:
    for _ in range(20):
        dense = rng.standard_normal(16).astype(np.float32)
        terms = sorted({int(t) for t in rng.integers(0, 40, size=3)})
        sparse = SparseVec(tuple(terms), (1.0,) * len(terms))
        mirror = store.search(name, dense, sparse, limit=10, candidates=10, fused=False)
        native = store.search(name, dense, sparse, limit=10, candidates=10, fused=True)
        for ours, theirs in ((mirror.dense, native.dense), (mirror.lexical, native.lexical)):
            assert [h.id for h in ours] == [h.id for h in theirs]
            assert np.allclose([h.score for h in ours], [h.score for h in theirs], atol=1e-5)
            assert [h.payload for h in ours] == [h.payload for h in theirs]


def test_the_mirror_ranks_and_scores_like_local_mode_and_follows_writes(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    store = QdrantStore(Settings(data_dir=tmp_path))
    try:
        store.create("c", 16, {})
        store.upsert("c", _points(rng, 0, 300))
        store.swap_alias("served", "c")
        _compare(store, "served", rng)
        store.upsert("c", _points(rng, 300, 50))
        store.delete("c", [str(uuid.UUID(int=i)) for i in range(0, 300, 7)])
        _compare(store, "served", rng)  # the mirror was dropped on write and rebuilt from the collection
    finally:
        store.close()
