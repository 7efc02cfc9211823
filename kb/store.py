"""The vector store: Qdrant behind Kennisbank's own small interface.

The same class talks to qdrant-client's local mode (a folder under the data directory; one process at a time)
or to a Qdrant server or cluster (`KB_QDRANT_URL`, one or several node URLs: see kb.store_client). Every Qdrant
failure becomes `StoreUnavailable` (a write refused to the read-only key: `StoreReadOnly`), so callers never see
client types or transport errors.

Layout: the served index is an *alias* (`kb_articles`) pointing at one build collection
(`kb_articles__<build id>`). Each collection holds two named vectors per chunk (`dense`, and `lexical`, a sparse
BM25-style vector with Qdrant's IDF modifier) and one vector-less point per article that carries the article
itself, so a build is self-contained and swapping the alias swaps articles and vectors together.

Queries call qdrant-client directly rather than through LlamaIndex's QdrantVectorStore because we need native
prefetch + fusion and each mode's raw scores (it fuses client-side), aliases and collection metadata. The
indexer writes through LlamaIndex's ingestion pipeline (indexer/pipeline.py), which ends in `upsert` here.

    >>> store = QdrantStore(Settings())  # doctest: +SKIP
    >>> store.resolve_alias("kb_articles")  # doctest: +SKIP
    'kb_articles__20261122t101500'
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from kb.config import Settings
from kb.errors import StoreReadOnly, StoreUnavailable
from kb.lexical import SparseVec
from kb.mirror import LocalMirror
from kb.store_client import FailoverClient, split_urls

DENSE = "dense"
LEXICAL = "lexical"
#: Seconds a Qdrant server's alias is trusted before it is read again (another process may swap it; a failed
#: read forgets it at once). In local mode only this process can swap an alias, so the cache is exact.
ALIAS_TTL = 1.0


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

    def __init__(self, settings: Settings, *, read_only: bool = False) -> None:
        """`read_only`: use KB_QDRANT_READ_API_KEY where one is set (what the service reads with)."""
        self.settings = settings
        self.location = settings.qdrant_url or str(settings.qdrant_path)
        #: True when this store holds only the read-only key: the server refuses its writes.
        self.read_only = bool(read_only and settings.qdrant_url and settings.qdrant_read_api_key)
        # Local mode is plain Python over SQLite and not safe for concurrent calls: serialise them (each call
        # is short, so a re-index in one thread and suggestions in others interleave). A server needs no lock.
        self._lock: contextlib.AbstractContextManager[Any] = (
            contextlib.nullcontext() if settings.qdrant_url else threading.RLock())
        # Local mode only: in-memory mirrors of each collection's vectors (see kb.mirror), by "collection|fields".
        self._mirrors: dict[str, LocalMirror] | None = None if settings.qdrant_url else {}
        self._aliases: dict[str, str] | None = None  # alias -> collection, read at _aliases_at (monotonic)
        self._aliases_at = 0.0
        self._tuned: set[str] = set()  # local collections whose SQLite file is set for fast writes
        self.client: QdrantClient | FailoverClient
        try:
            if settings.qdrant_url:
                secret = settings.qdrant_read_api_key if self.read_only else settings.qdrant_api_key
                key = secret.get_secret_value() if secret else None
                # One node or several of a cluster: timeouts and failover live in kb.store_client.
                self.client = FailoverClient(split_urls(settings.qdrant_url), key, settings.qdrant_timeout)
            else:
                settings.qdrant_path.mkdir(parents=True, exist_ok=True)
                self.client = QdrantClient(path=str(settings.qdrant_path))
        except Exception as e:
            raise StoreUnavailable(_explain(e, self.location)) from e

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a dead connection is not worth a crash
            self.client.close()

    # --- collections and aliases ---------------------------------------------------------------------------

    def resolve_alias(self, alias: str, *, fresh: bool = False) -> str | None:
        """The collection an alias points to, or None.

        Cached between swaps (a suggestion resolves it more than once); `fresh` reads it from Qdrant."""
        aliases = self._aliases
        if aliases is None or fresh or (self.settings.qdrant_url and time.monotonic() - self._aliases_at > ALIAS_TTL):
            aliases = {a.alias_name: str(a.collection_name) for a in self._call(self.client.get_aliases).aliases}
            self._aliases, self._aliases_at = aliases, time.monotonic()
        return aliases.get(alias)

    def collections(self, prefix: str = "") -> list[str]:
        names = [c.name for c in self._call(self.client.get_collections).collections]
        return sorted(n for n in names if n.startswith(prefix))

    def exists(self, name: str) -> bool:
        return bool(self._call(self.client.collection_exists, name))

    def create(self, name: str, dim: int, metadata: dict[str, Any]) -> None:
        self._call(self.client.create_collection, name,
                   vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                   sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                   metadata=metadata, **(self._server_layout() if self.settings.qdrant_url else {}))

    def _server_layout(self) -> dict[str, Any]:
        """How a server lays out a build, chosen so its lexical scores equal local mode's (tests/server):

        - one shard unless told otherwise, even in a cluster (whose default is one per node): Qdrant computes IDF
          per shard, and 3 shards gave 9 of 307 golden messages another first article;
        - deleted points vacuumed at once: until a segment is vacuumed its deleted points still count in IDF, and
          by default that waits for 20% deleted and 1000 vectors, so in-place updates drifted for good;
        - two segments on any machine (the default is one per core): segments under 100 vectors are never
          vacuumed, and a knowledge base is small.
        """
        return {"shard_number": self.settings.qdrant_shards, "replication_factor": self.settings.qdrant_replicas,
                "optimizers_config": models.OptimizersConfigDiff(deleted_threshold=0.0001, vacuum_min_vector_number=100,
                                                                 default_segment_number=2)}

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
        self._aliases = None
        self._call(self.client.update_collection_aliases, change_aliases_operations=ops)
        self._aliases = None

    def drop(self, name: str) -> None:
        self._forget(name)
        self._aliases = None  # dropping a collection drops the aliases that point to it
        self._call(self.client.delete_collection, name)

    # --- points --------------------------------------------------------------------------------------------

    def upsert(self, name: str, points: Sequence[Point], batch_size: int = 256) -> None:
        self._forget(name)
        self._fast_local_writes(name)
        for start in range(0, len(points), batch_size):
            batch = [_to_qdrant(p) for p in points[start:start + batch_size]]
            self._call(self.client.upsert, name, points=batch, wait=True)

    def delete(self, name: str, ids: Sequence[str]) -> None:
        self._forget(name)
        self._fast_local_writes(name)
        if ids:
            self._call(self.client.delete, name, points_selector=models.PointIdsList(points=list(ids)), wait=True)

    def get(self, name: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        with self._forget_aliases_on_failure():  # `name` may come from a cached alias whose build is gone
            records = self._call(self.client.retrieve, name, ids=list(ids), with_payload=True, with_vectors=False)
        return {str(r.id): dict(r.payload or {}) for r in records}

    def existing_ids(self, name: str, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are points of the collection (looked up by id; no payload read)."""
        found: set[str] = set()
        for start in range(0, len(ids), 4096):
            records = self._call(self.client.retrieve, name, ids=list(ids[start:start + 4096]), with_payload=False,
                                 with_vectors=False)
            found.update(str(r.id) for r in records)
        return found

    def ids_of_articles(self, name: str, article_ids: Sequence[str]) -> set[str]:
        """Ids of every point (chunks and record) of the given articles."""
        where = models.Filter(must=[models.FieldCondition(key="article_id",
                                                          match=models.MatchAny(any=list(article_ids)))])
        return {pid for pid, _ in self.scroll_payloads(name, [], where=where)} if article_ids else set()

    def set_payload(self, name: str, ids: Sequence[str], payload: dict[str, Any]) -> None:
        """Overwrite these payload fields of the given points (other fields and the vectors stay)."""
        self._forget(name)
        self._fast_local_writes(name)
        if ids:
            self._call(self.client.set_payload, name, payload=payload, points=list(ids), wait=True)

    def scroll_payloads(self, name: str, fields: Sequence[str], *,
                        where: models.Filter | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every point's id and the named payload fields (of the points matching `where`, if given)."""
        offset = None
        selector: Any = models.PayloadSelectorInclude(include=list(fields)) if fields else False
        while True:
            records, offset = self._call(self.client.scroll, name, limit=1024, offset=offset, scroll_filter=where,
                                         with_payload=selector, with_vectors=False)
            for r in records:
                yield str(r.id), dict(r.payload or {})
            if offset is None:
                return

    # --- search --------------------------------------------------------------------------------------------

    def search(self, name: str, dense: np.ndarray | None, sparse: SparseVec | None, *, limit: int,
               candidates: int = 50, fields: Sequence[str] | None = None, fused: bool = True) -> SearchResult:
        """One round trip: the fused ranking (native prefetch + RRF, when `fused`) and each mode's raw scores.

        In local mode, unless the native fusion is asked for, both modes are answered from an in-memory mirror of
        the collection instead (same vectors, same cosine, same IDF; see kb.mirror)."""
        sparse = sparse if sparse is not None and not sparse.is_empty else None
        if self._mirrors is not None and not fused:
            mirror = self._mirror(name, fields)
            return SearchResult([], mirror.dense_search(dense, candidates) if dense is not None else [],
                                mirror.lexical_search(sparse, candidates) if sparse is not None else [])
        # qdrant-client directly: native prefetch + RRF and each mode's raw scores in one batch, which LlamaIndex's
        # QdrantVectorStore cannot give (it fuses hybrid results client-side and returns one score per node).
        payload: Any = models.PayloadSelectorInclude(include=list(fields)) if fields else True
        requests: list[models.QueryRequest] = []
        prefetch: list[models.Prefetch] = []
        dense_q = dense.tolist() if dense is not None else None
        sparse_q = (models.SparseVector(indices=list(sparse.indices), values=list(sparse.values))
                    if sparse is not None else None)
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
        with self._forget_aliases_on_failure():
            answers = self._call(self.client.query_batch_points, name, requests=requests)
        responses = [[Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in r.points] for r in answers]
        dense_hits = responses[-2] if len(prefetch) == 2 else (responses[0] if dense_q is not None else [])
        lexical_hits = responses[-1] if sparse_q is not None else []
        single = [] if len(prefetch) == 2 else (dense_hits or lexical_hits)[:limit]
        fused_hits = responses[0] if with_fusion else single
        return SearchResult(fused_hits, dense_hits, lexical_hits)

    def _mirror(self, name: str, fields: Sequence[str] | None) -> LocalMirror:
        assert self._mirrors is not None
        collection = self.resolve_alias(name) or name
        key = f"{collection}|{','.join(fields or ())}"
        mirror = self._mirrors.get(key)
        if mirror is None:
            mirror = self._mirrors[key] = LocalMirror.build(self._vector_points(collection, fields))
        return mirror

    def _vector_points(self, collection: str, fields: Sequence[str] | None) -> Iterator[
            tuple[str, dict[str, Any], np.ndarray | None, SparseVec | None]]:
        payload: Any = models.PayloadSelectorInclude(include=list(fields)) if fields else True
        offset = None
        while True:
            records, offset = self._call(self.client.scroll, collection, limit=4096, offset=offset,
                                         with_payload=payload, with_vectors=[DENSE, LEXICAL])
            for r in records:
                vectors = r.vector if isinstance(r.vector, dict) else {}
                dense, lexical = vectors.get(DENSE), vectors.get(LEXICAL)
                yield (str(r.id), dict(r.payload or {}),
                       np.asarray(dense, dtype=np.float32) if dense is not None else None,
                       SparseVec(tuple(lexical.indices), tuple(lexical.values)) if lexical is not None else None)
            if offset is None:
                return

    @contextlib.contextmanager
    def _forget_aliases_on_failure(self) -> Iterator[None]:
        """A failed read forgets the cached aliases, so the next one resolves them again (a server's alias may
        have been swapped, and its old build dropped, by another process within ALIAS_TTL)."""
        try:
            yield
        except StoreUnavailable:
            self._aliases = None
            raise

    def _fast_local_writes(self, name: str) -> None:
        """Local mode writes every point in its own SQLite transaction with a full fsync: about 5 ms a point, most
        of a full build's time besides the model. Write-ahead logging with synchronous=NORMAL keeps every write
        atomic and survives a killed process (only a power cut can lose the last writes, which `kb index` redoes).
        Reaches into qdrant-client's local storage; if that ever changes shape, writes just stay slow."""
        if self._mirrors is None or name in self._tuned:
            return
        self._tuned.add(name)
        with contextlib.suppress(Exception):
            local: Any = self.client._client  # type: ignore[union-attr]
            connection = local.collections[local.aliases.get(name, name)].storage.storage
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")

    def _forget(self, name: str) -> None:
        """Drop the in-memory mirror of a collection that is about to change."""
        if self._mirrors:
            collection = self.resolve_alias(name) or name
            for key in [k for k in self._mirrors if k.split("|", 1)[0] == collection]:
                del self._mirrors[key]

    # --- plumbing ------------------------------------------------------------------------------------------

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with self._lock:
                return fn(*args, **kwargs)
        except StoreUnavailable:
            raise
        except UnexpectedResponse as e:
            if e.status_code == 403:  # Qdrant refuses writes made with its read-only key
                raise StoreReadOnly(f"Qdrant at {self.location} refused a write: {_server_message(e)}. This "
                                    "process holds the read-only key (KB_QDRANT_READ_API_KEY); index with "
                                    "`kb index` and the read-write KB_QDRANT_API_KEY") from e
            raise StoreUnavailable(_explain(e, self.location)) from e
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
    source = getattr(error, "source", None)  # qdrant-client wraps transport errors (refused, timed out, reset)
    if isinstance(source, Exception):
        error = source
    if isinstance(error, UnexpectedResponse):
        text = f"{error.status_code} {error.reason_phrase}: {_server_message(error)}"
    elif isinstance(error, httpx.TransportError):
        text = f"{type(error).__name__} ({error or 'no answer'})"
    else:
        text = str(error) or type(error).__name__
    if "already accessed by another instance" in text:
        return (f"the local index at {location} is open in another process (is `kb serve` running?); "
                "ask the running service instead, or stop it first")
    return f"Qdrant at {location} failed: {text.splitlines()[0][:300]}"


def _server_message(error: UnexpectedResponse) -> str:
    """Qdrant's own reason from an error answer ({"status": {"error": ...}}), else the raw start of it."""
    try:
        return str(error.structured()["status"]["error"])
    except Exception:
        return error.content[:200].decode("utf-8", "replace") or "no details"
