"""The store in qdrant-client's local mode: a folder under the data directory, one process at a time.

What only local mode needs: one lock around every call (local mode is plain Python over SQLite and not safe for
concurrent calls; each call is short, so a re-index in one thread and suggestions in others interleave), SQLite
set for fast writes, and searches answered from an in-memory mirror of each collection (kb.mirror: numpy cosines
and an inverted index with Qdrant's IDF formula, the same scores as local mode's own brute force at a fraction of
its time). Only this process can swap an alias here, so a resolved alias is cached until it does.

    >>> store = LocalStore(Settings(data_dir=Path(".kb")))  # doctest: +SKIP
    >>> store.search("kb_articles", query_vector, query_terms, limit=60).lexical[0].score  # doctest: +SKIP
    7.31
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from kb.config import Settings
from kb.errors import StoreUnavailable
from kb.lexical import SparseVec
from kb.mirror import LocalMirror, MirrorPoint
from kb.store_qdrant import DENSE, LEXICAL, Method, P, QdrantCollections, T, explain
from kb.store_types import SearchResult


class LocalStore(QdrantCollections):
    """Qdrant's local mode behind the store protocol, searched through in-memory mirrors."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(str(settings.qdrant_path))
        self._lock = threading.RLock()
        self._mirrors: dict[str, LocalMirror] = {}  # by "collection|fields", built on the first search
        self._tuned: set[str] = set()  # collections whose SQLite file is set for fast writes
        try:
            settings.qdrant_path.mkdir(parents=True, exist_ok=True)
            #: The qdrant-client (public: bench/run.py builds LlamaIndex's own QdrantVectorStore on it).
            self.client = QdrantClient(path=str(settings.qdrant_path))
        except Exception as e:
            raise StoreUnavailable(explain(e, self.location)) from e

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    def _run(self, method: Method[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            return method(self.client, *args, **kwargs)

    def search(self, name: str, dense: np.ndarray | None, sparse: SparseVec | None, *, limit: int,
               fields: Sequence[str] | None = None) -> SearchResult:
        """Both modes from the collection's mirror (built on the first search after a write)."""
        sparse = sparse if sparse is not None and not sparse.is_empty else None
        if dense is None and sparse is None:
            return SearchResult()
        mirror = self._on_current_build(name, lambda collection: self._mirror(collection, fields))
        return SearchResult(dense=mirror.dense_search(dense, limit) if dense is not None else [],
                            lexical=mirror.lexical_search(sparse, limit) if sparse is not None else [])

    def drop(self, name: str) -> None:
        self._forget(name)
        super().drop(name)

    def _writing(self, name: str) -> None:
        self._forget(name)
        self._fast_writes(name)

    def _mirror(self, collection: str, fields: Sequence[str] | None) -> LocalMirror:
        key = f"{collection}|{','.join(fields or ())}"
        mirror = self._mirrors.get(key)
        if mirror is None:
            mirror = self._mirrors[key] = LocalMirror.build(self._vector_points(collection, fields))
        return mirror

    def _vector_points(self, collection: str, fields: Sequence[str] | None) -> Iterator[MirrorPoint]:
        payload: Any = models.PayloadSelectorInclude(include=list(fields)) if fields else True
        offset = None
        while True:
            records, offset = self._call(QdrantClient.scroll, collection, limit=4096, offset=offset,
                                         with_payload=payload, with_vectors=[DENSE, LEXICAL])
            for r in records:
                vectors = r.vector if isinstance(r.vector, dict) else {}
                dense, lexical = vectors.get(DENSE), vectors.get(LEXICAL)
                yield (str(r.id), dict(r.payload or {}),
                       np.asarray(dense, dtype=np.float32) if dense is not None else None,
                       SparseVec(tuple(lexical.indices), tuple(lexical.values))
                       if isinstance(lexical, models.SparseVector) else None)
            if offset is None:
                return

    def _forget(self, name: str) -> None:
        """Drop the mirrors of a collection that is about to change."""
        if self._mirrors:
            collection = self.resolve_alias(name) or name
            for key in [k for k in self._mirrors if k.split("|", 1)[0] == collection]:
                del self._mirrors[key]

    def _fast_writes(self, name: str) -> None:
        """Local mode writes every point in its own SQLite transaction with a full fsync: measured 11 ms a point
        on this project's machines (4 ms in WAL mode; 0.5 ms with synchronous=NORMAL too), most of a full build's
        time besides the model. Write-ahead logging with synchronous=NORMAL keeps every write atomic and survives
        a killed process (only a power cut can lose the last writes, which `kb index` redoes).

        qdrant-client has no option for this: its local persistence (qdrant_client/local/persistence.py,
        CollectionPersistence) opens the connection itself and its maintainers keep local mode for experiments
        ("not optimized for performance", qdrant/qdrant#1704); no upstream issue asks for a durability setting
        yet. So this reaches into the client's private `_client` (the QdrantLocal) for the collection's SQLite
        connection. WAL mode is persistent in the file, so tests/server/test_store_contract.py
        (`test_local_collections_are_written_in_wal_mode`) pins it from outside; if qdrant-client changes shape
        that test fails, and writes only go slow."""
        if name in self._tuned:
            return
        self._tuned.add(name)
        with self._lock, contextlib.suppress(Exception):
            local: Any = self.client._client
            connection = local.collections[local.aliases.get(name, name)].storage.storage
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
