"""The local store's in-memory mirror (kb.mirror) answers exactly as Qdrant's own local-mode query does, and follows
writes: same ids, same order, same scores to float32 precision, for dense and lexical (IDF) search.

The reference is qdrant-client's local mode itself, in memory, holding the same points in the same layout and
asked with `query_points`."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from kb.config import Settings
from kb.lexical import SparseVec
from kb.store import Hit, Point
from kb.store_local import LocalStore
from kb.store_qdrant import DENSE, LEXICAL, sparse_to_qdrant, to_qdrant

pytestmark = pytest.mark.e2e


def _points(rng: np.random.Generator, start: int, n: int) -> list[Point]:
    out = []
    for i in range(start, start + n):
        vector = rng.standard_normal(16).astype(np.float32)
        terms = sorted({int(t) for t in rng.integers(0, 40, size=5)})
        out.append(Point(str(uuid.UUID(int=i)), {"article_id": f"a{i // 3}", "text": f"t{i}"}, vector,
                         SparseVec(tuple(terms), tuple(float(w) for w in rng.uniform(0.2, 2.0, len(terms))))))
    return out


def _native(reference: QdrantClient, query: models.SparseVector | list[float], using: str) -> list[Hit]:
    found = reference.query_points("c", query=query, using=using, limit=10, with_payload=True).points
    return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in found]


def _compare(store: LocalStore, reference: QdrantClient, rng: np.random.Generator) -> None:
    for _ in range(20):
        dense = rng.standard_normal(16).astype(np.float32)
        terms = sorted({int(t) for t in rng.integers(0, 40, size=3)})
        sparse = SparseVec(tuple(terms), (1.0,) * len(terms))
        mirror = store.search("served", dense, sparse, limit=10)
        native = (_native(reference, dense.tolist(), DENSE), _native(reference, sparse_to_qdrant(sparse), LEXICAL))
        for ours, theirs in ((mirror.dense, native[0]), (mirror.lexical, native[1])):
            assert [h.id for h in ours] == [h.id for h in theirs]
            assert np.allclose([h.score for h in ours], [h.score for h in theirs], atol=1e-5)
            assert [h.payload for h in ours] == [h.payload for h in theirs]


def test_the_mirror_ranks_and_scores_like_local_mode_and_follows_writes(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    store = LocalStore(Settings(data_dir=tmp_path))
    reference = QdrantClient(location=":memory:")
    reference.create_collection(
        "c", vectors_config={DENSE: models.VectorParams(size=16, distance=models.Distance.COSINE)},
        sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)})
    try:
        store.create("c", 16, {})
        first = _points(rng, 0, 300)
        store.upsert("c", first)
        reference.upsert("c", [to_qdrant(p) for p in first])
        store.swap_alias("served", "c")
        _compare(store, reference, rng)
        more, doomed = _points(rng, 300, 50), [str(uuid.UUID(int=i)) for i in range(0, 300, 7)]
        store.upsert("c", more)
        store.delete("c", doomed)
        reference.upsert("c", [to_qdrant(p) for p in more])
        reference.delete("c", points_selector=models.PointIdsList(points=doomed))
        _compare(store, reference, rng)  # the mirror was dropped on write and rebuilt from the collection
    finally:
        store.close()
        reference.close()
