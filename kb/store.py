"""The vector store: what Kennisbank needs from one (`Store`), and `open_store`, which picks the implementation.

Two implementations, each owning its own concerns, over one shared Qdrant plumbing (kb.store_qdrant: collection
layout, point mapping, every failure mapped to `StoreUnavailable` / `StoreReadOnly`):

    kb.store_local.LocalStore    qdrant-client's local mode in the data dir; its private parts are the in-memory
                                 mirror (kb.mirror, kb.lexical_index) that answers searches, and SQLite tuning
    kb.store_server.ServerStore  a Qdrant server or cluster; its private parts are failover and timeouts
                                 (kb.store_client), the read-only key and the shard layout

Both pass the same contract suite (tests/server/test_store_contract.py) and answer the golden messages alike
(tests/server/test_congruence.py). Callers type against `Store`, never an implementation.

    >>> store = open_store(Settings(), read_only=True)  # doctest: +SKIP
    >>> store.resolve_alias("kb_articles")  # doctest: +SKIP
    'kb_articles__20261122t101500'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from kb.config import Settings
from kb.lexical import SparseVec
from kb.store_local import LocalStore
from kb.store_server import ServerStore
from kb.store_types import Hit, Point, SearchResult, Where

__all__ = ["Hit", "Point", "SearchResult", "Store", "Where", "open_store"]


class Store(Protocol):
    """Collections of chunk points (dense + lexical vectors) and article records, served through an alias.

    Every method raises `StoreUnavailable` when the store cannot answer, and `StoreReadOnly` for a write through
    a read-only key."""

    @property
    def location(self) -> str:
        """Where the store lives (a folder or the server URLs), for messages."""
        ...

    @property
    def read_only(self) -> bool:
        """True when this store may only read (the service's read-only Qdrant key)."""
        ...

    def close(self) -> None: ...

    # collections and aliases
    def resolve_alias(self, alias: str, *, fresh: bool = False) -> str | None:
        """The collection `alias` points to, or None (`fresh`: not from a cache)."""
        ...

    def collections(self, prefix: str = "") -> list[str]: ...

    def exists(self, name: str) -> bool: ...

    def create(self, name: str, dim: int, metadata: dict[str, Any]) -> None:
        """A new empty collection for `dim`-dimensional dense vectors and lexical vectors."""
        ...

    def metadata(self, name: str) -> dict[str, Any]: ...

    def set_metadata(self, name: str, metadata: dict[str, Any]) -> None:
        """Merge these keys into the collection's metadata."""
        ...

    def point_count(self, name: str) -> int: ...

    def swap_alias(self, alias: str, collection: str) -> None:
        """Point `alias` at `collection` in one atomic step."""
        ...

    def drop(self, name: str) -> None: ...

    # points
    def upsert(self, name: str, points: Sequence[Point], batch_size: int = 256) -> None: ...

    def delete(self, name: str, ids: Sequence[str]) -> None: ...

    def set_payload(self, name: str, ids: Sequence[str], payload: dict[str, Any]) -> None:
        """Overwrite these payload fields of the given points (other fields and the vectors stay)."""
        ...

    def get(self, name: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Payloads of the given points that exist, by id."""
        ...

    def existing_ids(self, name: str, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are points of the collection."""
        ...

    def scroll_payloads(self, name: str, fields: Sequence[str], *,
                        where: Where | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every point's id and the named payload fields, of the points whose payload matches `where`."""
        ...

    def search(self, name: str, dense: np.ndarray | None, sparse: SparseVec | None, *, limit: int,
               fields: Sequence[str] | None = None) -> SearchResult:
        """Each mode's `limit` best points with their own scores: cosine, and BM25 with Qdrant's IDF."""
        ...


def open_store(settings: Settings, *, read_only: bool = False) -> Store:
    """The server store when KB_QDRANT_URL is set, else local mode in the data dir.

    `read_only`: a server store reads with KB_QDRANT_READ_API_KEY where one is set (what the service does)."""
    if settings.qdrant_url:
        return ServerStore(settings, read_only=read_only)
    return LocalStore(settings)
