"""An in-memory mirror of one local-mode collection: its dense vectors as one numpy matrix, its lexical vectors as
an inverted index (`kb.lexical_index`), and the payload fields searches return.

Qdrant's local mode answers a dense top-k by brute force through its Python layer (request models, a deep copy of
every returned payload): about 2 ms of a 9 ms query on the sample KB, growing with the collection. The same
brute force as one matrix-vector product over float32 rows costs about 0.05 ms at 700 chunks and 6 ms at 100k;
scores are the same cosines (both sides are normalised, as Qdrant's `Distance.COSINE` does) to float32 precision.
A part of the local store (kb.store_local), which keeps one mirror per collection, builds it on the first search
and drops it whenever it writes to that collection; a Qdrant server has HNSW and its own sparse index.

    >>> mirror = LocalMirror.build([("p1", {"article_id": "a"}, np.array([1.0, 0.0], np.float32), None)])
    >>> [(h.id, round(h.score, 3)) for h in mirror.dense_search(np.array([0.6, 0.8], np.float32), limit=5)]
    [('p1', 0.6)]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from kb.blas import one_blas_thread
from kb.lexical import SparseVec
from kb.lexical_index import InvertedIndex
from kb.store_types import Hit

#: (point id, payload, dense vector or None, lexical vector or None)
MirrorPoint = tuple[str, dict[str, Any], np.ndarray | None, SparseVec | None]


class LocalMirror:
    """Dense rows (normalised float32) and the lexical inverted index of one collection."""

    def __init__(self, dense_ids: list[str], dense_payloads: list[dict[str, Any]], dense: np.ndarray,
                 lexical: InvertedIndex) -> None:
        self.dense_ids = dense_ids
        self.dense_payloads = dense_payloads
        self.dense = dense
        self.lexical = lexical

    @classmethod
    def build(cls, points: Iterable[MirrorPoint]) -> LocalMirror:
        ids: list[str] = []
        payloads: list[dict[str, Any]] = []
        rows: list[np.ndarray] = []
        sparse: list[tuple[str, dict[str, Any], SparseVec]] = []
        for point_id, payload, dense, lexical in points:
            if dense is not None:
                ids.append(point_id)
                payloads.append(payload)
                rows.append(dense)
            if lexical is not None and not lexical.is_empty:
                sparse.append((point_id, payload, lexical))
        matrix = np.asarray(rows, dtype=np.float32) if rows else np.zeros((0, 0), dtype=np.float32)
        if rows:
            matrix /= np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)
        return cls(ids, payloads, matrix, InvertedIndex.build(sparse))

    def dense_search(self, query: np.ndarray, limit: int) -> list[Hit]:
        """The `limit` rows with the highest cosine to `query`, best first (ties: lower row first)."""
        if not self.dense_ids or limit <= 0:
            return []
        q = np.asarray(query, dtype=np.float32)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        with one_blas_thread():
            scores = self.dense @ q
        k = min(limit, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]
        return [Hit(self.dense_ids[i], float(scores[i]), self.dense_payloads[i]) for i in top.tolist()]

    def lexical_search(self, query: SparseVec, limit: int) -> list[Hit]:
        return self.lexical.search(query, limit)

    def __len__(self) -> int:
        return len(self.dense_ids)
