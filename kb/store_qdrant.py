"""Qdrant plumbing both stores share: the collection layout, points to and from Qdrant's models, and every Qdrant
failure mapped to `StoreUnavailable` (a write refused to the read-only key: `StoreReadOnly`).

Layout: the served index is an *alias* (`kb_articles`) pointing at one build collection
(`kb_articles__<build id>`). Each collection holds two named vectors per chunk (`dense`, and `lexical`, a sparse
BM25-style vector with Qdrant's IDF modifier) and one vector-less point per article that carries the article
itself, so a build is self-contained and swapping the alias swaps articles and vectors together.

`QdrantCollections` implements every operation of the `kb.store.Store` protocol but search over one
qdrant-client; `kb.store_local.LocalStore` and `kb.store_server.ServerStore` say how a call reaches Qdrant
(`_run`), how they search, and what a write must invalidate. Queries call qdrant-client directly rather than
through LlamaIndex's QdrantVectorStore because we need each mode's raw scores, aliases and collection metadata;
the indexer writes through LlamaIndex's ingestion pipeline (indexer/pipeline.py), which ends in `upsert` here.

    >>> to_qdrant(Point("00000000-0000-0000-0000-000000000001", {"kind": "article"})).vector
    {}
"""

from __future__ import annotations

import contextlib
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx
import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from kb.errors import StoreReadOnly, StoreUnavailable
from kb.lexical import SparseVec
from kb.store_types import Point, SearchResult, Where

DENSE = "dense"
LEXICAL = "lexical"
T = TypeVar("T")
P = ParamSpec("P")
#: A qdrant-client method, called unbound with the client first: `QdrantClient.count`.
Method = Callable[Concatenate[QdrantClient, P], T]


class QdrantCollections(ABC):
    """The store operations over qdrant-client, with every error mapped to `StoreUnavailable`."""

    #: Seconds a resolved alias is trusted before it is read again (math.inf: until this process swaps it).
    alias_ttl: float = math.inf

    def __init__(self, location: str, *, read_only: bool = False) -> None:
        self.location = location
        #: True when the store holds only the read-only key: the server refuses its writes.
        self.read_only = read_only
        self._aliases: dict[str, str] | None = None  # alias -> collection, read at _aliases_at (monotonic)
        self._aliases_at = 0.0

    @abstractmethod
    def _run(self, method: Method[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call one qdrant-client method (local mode: under a lock; a server: on a node that answers)."""

    @abstractmethod
    def search(self, name: str, dense: np.ndarray | None, sparse: SparseVec | None, *, limit: int,
               fields: Sequence[str] | None = None) -> SearchResult:
        """Each mode's `limit` best points with their raw scores (cosine; BM25 with Qdrant's IDF)."""

    def _layout(self) -> dict[str, Any]:
        """Extra `create_collection` arguments (a server's shards and optimizer settings)."""
        return {}

    @abstractmethod
    def _writing(self, name: str) -> None:
        """Called before every write to collection `name` (local mode drops what it derived from it)."""

    @abstractmethod
    def close(self) -> None: ...

    # --- collections and aliases ---------------------------------------------------------------------------

    def resolve_alias(self, alias: str, *, fresh: bool = False) -> str | None:
        """The collection an alias points to, or None.

        Cached between swaps (a suggestion resolves it more than once); `fresh` reads it from Qdrant."""
        aliases = self._aliases
        if aliases is None or fresh or time.monotonic() - self._aliases_at > self.alias_ttl:
            answer = self._call(QdrantClient.get_aliases)
            aliases = {a.alias_name: str(a.collection_name) for a in answer.aliases}
            self._aliases, self._aliases_at = aliases, time.monotonic()
        return aliases.get(alias)

    def collections(self, prefix: str = "") -> list[str]:
        names = [c.name for c in self._call(QdrantClient.get_collections).collections]
        return sorted(n for n in names if n.startswith(prefix))

    def exists(self, name: str) -> bool:
        return bool(self._call(QdrantClient.collection_exists, name))

    def create(self, name: str, dim: int, metadata: dict[str, Any]) -> None:
        self._call(QdrantClient.create_collection, name,
                   vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                   sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                   metadata=metadata, **self._layout())

    def metadata(self, name: str) -> dict[str, Any]:
        info = self._call(QdrantClient.get_collection, name)
        return dict(info.config.metadata or {})

    def set_metadata(self, name: str, metadata: dict[str, Any]) -> None:
        """Merge these keys into the collection's metadata."""
        self._call(QdrantClient.update_collection, name, metadata=metadata)

    def point_count(self, name: str) -> int:
        return int(self._call(QdrantClient.count, name, exact=True).count)

    def swap_alias(self, alias: str, collection: str) -> None:
        """Point `alias` at `collection` in one atomic operation (delete + create in the same request)."""
        ops: list[Any] = []
        if self.resolve_alias(alias) is not None:
            ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
        ops.append(models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=collection,
                                                                               alias_name=alias)))
        self._aliases = None
        self._call(QdrantClient.update_collection_aliases, change_aliases_operations=ops)
        self._aliases = None

    def drop(self, name: str) -> None:
        self._aliases = None  # dropping a collection drops the aliases that point to it
        self._call(QdrantClient.delete_collection, name)

    # --- points --------------------------------------------------------------------------------------------

    def upsert(self, name: str, points: Sequence[Point], batch_size: int = 256) -> None:
        self._writing(name)
        for start in range(0, len(points), batch_size):
            batch = [to_qdrant(p) for p in points[start:start + batch_size]]
            self._call(QdrantClient.upsert, name, points=batch, wait=True)

    def delete(self, name: str, ids: Sequence[str]) -> None:
        self._writing(name)
        if ids:
            self._call(QdrantClient.delete, name, points_selector=models.PointIdsList(points=list(ids)), wait=True)

    def set_payload(self, name: str, ids: Sequence[str], payload: dict[str, Any]) -> None:
        """Overwrite these payload fields of the given points (other fields and the vectors stay)."""
        self._writing(name)
        if ids:
            self._call(QdrantClient.set_payload, name, payload=payload, points=list(ids), wait=True)

    def get(self, name: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The payloads of these points; `name` may be the alias, which Qdrant resolves in the same call (so a
        re-index that swaps it and drops the old build between our calls cannot fail this read)."""
        with self._forget_aliases_on_failure():
            records = self._call(QdrantClient.retrieve, name, ids=list(ids), with_payload=True, with_vectors=False)
        return {str(r.id): dict(r.payload or {}) for r in records}

    def existing_ids(self, name: str, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are points of the collection (looked up by id; no payload read)."""
        found: set[str] = set()
        for start in range(0, len(ids), 4096):
            records = self._call(QdrantClient.retrieve, name, ids=list(ids[start:start + 4096]), with_payload=False,
                                 with_vectors=False)
            found.update(str(r.id) for r in records)
        return found

    def scroll_payloads(self, name: str, fields: Sequence[str], *,
                        where: Where | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every point's id and the named payload fields (none when `fields` is empty), of the points whose
        payload matches `where` (field -> value, or any of several values) when it is given.

        All pages come from one build: an alias is resolved once and its collection read whole, and a scroll whose
        build a re-index dropped half-way starts again on the new one. Paging through the alias itself could join
        the first pages of the old build to the rest of the new one (articles missing or twice)."""
        selector: Any = models.PayloadSelectorInclude(include=list(fields)) if fields else False
        condition = payload_filter(where) if where else None

        def read(collection: str) -> list[tuple[str, dict[str, Any]]]:
            points: list[tuple[str, dict[str, Any]]] = []
            offset = None
            while True:
                records, offset = self._call(QdrantClient.scroll, collection, limit=1024, offset=offset,
                                             scroll_filter=condition, with_payload=selector, with_vectors=False)
                points.extend((str(r.id), dict(r.payload or {})) for r in records)
                if offset is None:
                    return points

        return iter(self._on_current_build(name, read))

    # --- plumbing ------------------------------------------------------------------------------------------

    def _on_current_build(self, name: str, read: Callable[[str], T]) -> T:
        """`read` on the collection `name` stands for (an alias resolved from the cache, or a collection).

        A re-index swaps the alias and then drops the old build; a read that resolved the alias just before (another
        thread of this process, or another process within the alias TTL) finds its collection gone. Then the alias
        is read again and, when it has moved, the read runs once more on the new build: a request in flight during
        a swap is answered from the new index instead of failing. A store that is down fails once, as before."""
        collection = self.resolve_alias(name) or name
        try:
            return read(collection)
        except StoreUnavailable:
            self._aliases = None
            try:
                moved = self.resolve_alias(name, fresh=True)
            except StoreUnavailable:
                moved = None
            if moved is None or moved == collection:
                raise
        return read(moved)

    @contextlib.contextmanager
    def _forget_aliases_on_failure(self) -> Iterator[None]:
        """A failed read forgets the cached aliases, so the next one resolves them again (a server's alias may
        have been swapped, and its old build dropped, by another process since it was read)."""
        try:
            yield
        except StoreUnavailable:
            self._aliases = None
            raise

    def _call(self, method: Method[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return self._run(method, *args, **kwargs)
        except StoreUnavailable:
            raise
        except UnexpectedResponse as e:
            if e.status_code == 403:  # Qdrant refuses writes made with its read-only key
                raise StoreReadOnly(f"Qdrant at {self.location} refused a write: {_server_message(e)}. This "
                                    "process holds the read-only key (KB_QDRANT_READ_API_KEY); index with "
                                    "`kb index` and the read-write KB_QDRANT_API_KEY") from e
            raise StoreUnavailable(explain(e, self.location)) from e
        except Exception as e:
            raise StoreUnavailable(explain(e, self.location)) from e


def to_qdrant(point: Point) -> models.PointStruct:
    vector: dict[str, Any] = {}
    if point.dense is not None:
        vector[DENSE] = point.dense.astype(np.float32).tolist()
    if point.sparse is not None and not point.sparse.is_empty:
        vector[LEXICAL] = sparse_to_qdrant(point.sparse)
    return models.PointStruct(id=point.id, vector=vector, payload=point.payload)


def sparse_to_qdrant(vector: SparseVec) -> models.SparseVector:
    return models.SparseVector(indices=list(vector.indices), values=list(vector.values))


def payload_filter(where: Where) -> models.Filter:
    """`{"kind": "article"}` or `{"article_id": ["a", "b"]}` as a Qdrant filter (every condition must hold)."""
    conditions: list[Any] = []
    for key, value in where.items():
        match: Any = models.MatchValue(value=value) if isinstance(value, str) else models.MatchAny(any=list(value))
        conditions.append(models.FieldCondition(key=key, match=match))
    return models.Filter(must=conditions)


def explain(error: Exception, location: str) -> str:
    """One line saying what failed where, for `StoreUnavailable`."""
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
