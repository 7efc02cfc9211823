"""Comparing two stores' rankings of one message, where exact ties may come in either order.

A Dutch article and its English translation can score the same to float32 precision (the language direction is
projected out of every vector); which of two tied articles comes first, or makes the cut, is then float noise,
and local mode (numpy) and a server (Rust) may differ there without either being wrong.

    >>> from types import SimpleNamespace as M
    >>> a = [M(article_id="x", score=0.9), M(article_id="y", score=0.8), M(article_id="z", score=0.8)]
    >>> same_ranking(a, [a[0], a[2], a[1]], limit=2, tolerance=1e-6)
    True
    >>> same_ranking(a, [a[1], a[0], a[2]], limit=2, tolerance=1e-6)
    False
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def same_ranking(one: Sequence[Any], other: Sequence[Any], *, limit: int, tolerance: float) -> bool:
    """The first `limit` of each (searched with `limit + 1`, so a tie at the cut is seen) have equal scores within
    `tolerance`, and where their articles differ, the other's article is tied with this one's."""
    if len(one[:limit]) != len(other[:limit]):
        return False
    for a, b in zip(one[:limit], other[:limit], strict=True):
        if abs(a.score - b.score) > tolerance:
            return False
        tied = {m.article_id for m in one if abs(m.score - a.score) <= tolerance}
        if b.article_id != a.article_id and b.article_id not in tied:
            return False
    return True
