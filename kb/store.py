"""The vector store: Qdrant behind Kennisbank's own small interface.

The same class talks to qdrant-client's local mode (a folder under the data directory; one process at a time)
or to a Qdrant server or cluster (`KB_QDRANT_URL`). Every Qdrant failure becomes `StoreUnavailable`, so callers
never see client types or transport errors.

Layout: the served index is an *alias* (`kb_articles`) pointing at one build collection
(`kb_articles__<build id>`). Each collection holds two named vectors per chunk (`dense`, and `lexical`, a sparse
BM25-style vector with Qdrant's IDF modifier) and one vector-less point per article that carries the article
itself, so a build is self-contained and swapping the alias swaps articles and vectors together.

We call qdrant-client directly rather than through LlamaIndex's QdrantVectorStore because we need native
prefetch + fusion, named dense and sparse vectors, aliases and collection metadata, which it does not expose.

    >>> store = QdrantStore(Settings())  # doctest: +SKIP
    >>> store.resolve_alias("kb_articles")  # doctest: +SKIP
    'kb_articles__20261122t101500'
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from kb.config import Settings
from kb.errors import StoreUnavailable
from kb.lexical import SparseVec
from kb.lexical_index import InvertedIndex

DENSE = "dense"
LEXICAL = "lexical"


@dataclass(frozen=True)
class Point:
    id: str
    payload: dict[str, Any]
    dense: np.ndarray | None = None
    sparse: SparseVec | None = None


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class SearchResult:
    """Fused ranking plus each mode's own scores (used for confidence, which RRF's rank scores cannot give)."""

    fused: list[Hit]
    dense: list[Hit]
    lexical: list[Hit]


class QdrantStore:
    """Qdrant local mode or server, with every error mapped to `StoreUnavailable`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.location = settings.qdrant_url or str(settings.qdrant_path)
        # Local mode is plain Python over SQLite and not safe for concurrent calls: serialise them (each call
        # is short, so a re-index in one thread and suggestions in others interleave). A server needs no lock.
        self._lock: contextlib.AbstractContextManager[Any] = (
            contextlib.nullcontext() if settings.qdrant_url else threading.RLock())
        # Local mode only: in-memory mirrors of each collection's lexical vectors (see kb.lexical_index).
        self._lexical: dict[str, InvertedIndex] | None = None if settings.qdrant_url else {}
        try:
            if settings.qdrant_url:
                key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
                with warnings.catch_warnings():
                    # The client warns on minor-version skew with the server; congruence tests cover that.
                    warnings.simplefilter("ignore")
                    self.client = QdrantClient(url=settings.qdrant_url, api_key=key,
                                               timeout=int(max(1, settings.qdrant_timeout)), check_compatibility=False)
            else:
                settings.qdrant_path.mkdir(parents=True, exist_ok=True)
                self.client = QdrantClient(path=str(settings.qdrant_path))
        except Exception as e:
            raise StoreUnavailable(_explain(e, self.location)) from e

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a dead connection is not worth a crash
            self.client.close()

    # --- collections and aliases ---------------------------------------------------------------------------

    def resolve_alias(self, alias: str) -> str | None:
        """The collection an alias points to, or None."""
        for a in self._call(self.client.get_aliases).aliases:
            if a.alias_name == alias:
                return str(a.collection_name)
        return None

    def collections(self, prefix: str = "") -> list[str]:
        names = [c.name for c in self._call(self.client.get_collections).collections]
        return sorted(n for n in names if n.startswith(prefix))

    def exists(self, name: str) -> bool:
        return bool(self._call(self.client.collection_exists, name))

    def create(self, name: str, dim: int, metadata: dict[str, Any]) -> None:
        self._call(self.client.create_collection, name,
                   vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                   sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                   metadata=metadata)

    def metadata(self, name: str) -> dict[str, Any]:
        info = self._call(self.client.get_collection, name)
        return dict(info.config.metadata or {})

    def set_metadata(self, name: str, metadata: dict[str, Any]) -> None:
        self._call(self.client.update_collection, name, metadata=metadata)

    def point_count(self, name: str) -> int:
        return int(self._call(self.client.count, name, exact=True).count)

    def swap_alias(self, alias: str, collection: str) -> None:
        """Point `alias` at `collection` in one atomic operation (delete + create in the same request)."""
        ops: list[Any] = []
        if self.resolve_alias(alias) is not None:
            ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
        ops.append(models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=collection,
                                                                               alias_name=alias)))
        self._call(self.client.update_collection_aliases, change_aliases_operations=ops)

    def drop(self, name: str) -> None:
        self._forget(name)
        self._call(self.client.delete_collection, name)

    # --- points --------------------------------------------------------------------------------------------

    def upsert(self, name: str, points: Sequence[Point], batch_size: int = 256) -> None:
        self._forget(name)
        for start in range(0, len(points), batch_size):
            batch = [_to_qdrant(p) for p in points[start:start + batch_size]]
            self._call(self.client.upsert, name, points=batch, wait=True)

    def delete(self, name: str, ids: Sequence[str]) -> None:
        self._forget(name)
        if ids:
            self._call(self.client.delete, name, points_selector=models.PointIdsList(points=list(ids)), wait=True)

    def get(self, name: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        records = self._call(self.client.retrieve, name, ids=list(ids), with_payload=True, with_vectors=False)
        return {str(r.id): dict(r.payload or {}) for r in records}

    def scroll_payloads(self, name: str, fields: Sequence[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every point's id and the named payload fields."""
        offset = None
        while True:
            records, offset = self._call(self.client.scroll, name, limit=1024, offset=offset,
                                         with_payload=models.PayloadSelectorInclude(include=list(fields)),
                                         with_vectors=False)
            for r in records:
                yield str(r.id), dict(r.payload or {})
            if offset is None:
                return

    # --- search --------------------------------------------------------------------------------------------

    def search(self, name: str, dense: np.ndarray | None, sparse: SparseVec | None, *, limit: int,
               candidates: int = 50, fields: Sequence[str] | None = None, fused: bool = True) -> SearchResult:
        """One round trip: the fused ranking (native prefetch + RRF, when `fused`) and each mode's raw scores.

        In local mode the lexical scores come from an in-memory mirror instead (same vectors, same IDF)."""
        if self._lexical is not None and sparse is not None and not sparse.is_empty and not fused:
            lexical_hits = self._lexical_index(name, fields).search(sparse, candidates)
            dense_only = self.search(name, dense, None, limit=limit, candidates=candidates, fields=fields)
            return SearchResult([], dense_only.dense, lexical_hits)
        payload: Any = models.PayloadSelectorInclude(include=list(fields)) if fields else True
        requests: list[models.QueryRequest] = []
        prefetch: list[models.Prefetch] = []
        dense_q = dense.tolist() if dense is not None else None
        sparse_q = (models.SparseVector(indices=list(sparse.indices), values=list(sparse.values))
                    if sparse is not None and not sparse.is_empty else None)
        if dense_q is not None:
            prefetch.append(models.Prefetch(query=dense_q, using=DENSE, limit=candidates))
        if sparse_q is not None:
            prefetch.append(models.Prefetch(query=sparse_q, using=LEXICAL, limit=candidates))
        if not prefetch:
            return SearchResult([], [], [])
        with_fusion = fused and len(prefetch) == 2
        if with_fusion:
            requests.append(models.QueryRequest(prefetch=prefetch, query=models.FusionQuery(fusion=models.Fusion.RRF),
                                                limit=limit, with_payload=payload))
        if dense_q is not None:
            requests.append(models.QueryRequest(query=dense_q, using=DENSE, limit=candidates, with_payload=payload))
        if sparse_q is not None:
            requests.append(models.QueryRequest(query=sparse_q, using=LEXICAL, limit=candidates,
                                                with_payload=payload))
        responses = [[Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in r.points]
                     for r in self._call(self.client.query_batch_points, name, requests=requests)]
        dense_hits = responses[-2] if len(prefetch) == 2 else (responses[0] if dense_q is not None else [])
        lexical_hits = responses[-1] if sparse_q is not None else []
        single = [] if len(prefetch) == 2 else (dense_hits or lexical_hits)[:limit]
        fused_hits = responses[0] if with_fusion else single
        return SearchResult(fused_hits, dense_hits, lexical_hits)

    def _lexical_index(self, name: str, fields: Sequence[str] | None) -> InvertedIndex:
        assert self._lexical is not None
        collection = self.resolve_alias(name) or name
        key = f"{collection}|{','.join(fields or ())}"
        index = self._lexical.get(key)
        if index is None:
            index = self._lexical[key] = InvertedIndex.build(self._sparse_points(collection, fields))
        return index

    def _sparse_points(self, collection: str, fields: Sequence[str] | None) -> Iterator[tuple[str, dict[str, Any],
                                                                                            SparseVec]]:
        payload: Any = models.PayloadSelectorInclude(include=list(fields)) if fields else True
        offset = None
        while True:
            records, offset = self._call(self.client.scroll, collection, limit=1024, offset=offset,
                                         with_payload=payload, with_vectors=[LEXICAL])
            for r in records:
                vector = (r.vector or {}).get(LEXICAL) if isinstance(r.vector, dict) else None
                if vector is not None and vector.indices:
                    yield str(r.id), dict(r.payload or {}), SparseVec(tuple(vector.indices), tuple(vector.values))
            if offset is None:
                return

    def _forget(self, name: str) -> None:
        """Drop the in-memory mirror of a collection that is about to change."""
        if self._lexical:
            collection = self.resolve_alias(name) or name
            for key in [k for k in self._lexical if k.split("|", 1)[0] == collection]:
                del self._lexical[key]

    # --- plumbing ------------------------------------------------------------------------------------------

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with self._lock:
                return fn(*args, **kwargs)
        except StoreUnavailable:
            raise
        except Exception as e:
            raise StoreUnavailable(_explain(e, self.location)) from e


def _to_qdrant(point: Point) -> models.PointStruct:
    vector: dict[str, Any] = {}
    if point.dense is not None:
        vector[DENSE] = point.dense.astype(np.float32).tolist()
    if point.sparse is not None and not point.sparse.is_empty:
        vector[LEXICAL] = models.SparseVector(indices=list(point.sparse.indices), values=list(point.sparse.values))
    return models.PointStruct(id=point.id, vector=vector, payload=point.payload)


def _explain(error: Exception, location: str) -> str:
    text = str(error) or type(error).__name__
    if "already accessed by another instance" in text:
        return (f"the local index at {location} is open in another process (is `kb serve` running?); "
                "ask the running service instead, or stop it first")
    return f"Qdrant at {location} failed: {text.splitlines()[0][:300]}"
