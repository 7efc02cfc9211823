"""The values that go into a store and come out of it: a point to write, a hit found, a search's answer.

Kept apart from the store protocol and its implementations so that every module that makes or reads these
(the local store's in-memory mirror, retrieval, the indexer, tests) imports them from below the store.

    >>> Hit("p1", 0.9, {"article_id": "suiker-voedt-kanker"}).payload["article_id"]
    'suiker-voedt-kanker'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kb.lexical import SparseVec

#: `Store.scroll_payloads(where=...)`: payload field -> the value it must have, or any of several values.
Where = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class Point:
    """One point to write: a chunk (dense and lexical vectors, payload) or a vector-less article record."""

    id: str
    payload: dict[str, Any]
    dense: np.ndarray | None = None
    sparse: SparseVec | None = None


@dataclass(frozen=True)
class Hit:
    """One point found by a search, with that mode's own score (cosine, or BM25 sum)."""

    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class SearchResult:
    """Each mode's candidates with their raw scores, best first; retrieval fuses them (kb.retrieval)."""

    dense: list[Hit] = field(default_factory=list)
    lexical: list[Hit] = field(default_factory=list)
