"""The editor's "articles to write next" page embeds each flagged message once, not on every page view."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from api.grouping import VectorMemo
from kb.embedding import HashEmbedder

pytestmark = pytest.mark.unit


class Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str], *, kind: str = "passage") -> np.ndarray:
        self.seen.extend(texts)
        return super().embed(texts, kind=kind)


def test_a_second_page_view_embeds_only_newly_flagged_messages() -> None:
    inner = Counting()
    memo = VectorMemo(inner, size=10)
    first = memo.embed(["zonnebank na chemo", "gift opzeggen"])
    second = memo.embed(["nieuw bericht", "zonnebank na chemo", "gift opzeggen"])
    assert inner.seen == ["zonnebank na chemo", "gift opzeggen", "nieuw bericht"]
    assert np.allclose(second[1:], first) and second.shape == (3, inner.dim)


def test_the_memo_keeps_at_most_its_size_dropping_the_oldest() -> None:
    inner = Counting()
    memo = VectorMemo(inner, size=2)
    memo.embed(["a b c", "d e f", "g h i"])
    memo.embed(["g h i"])
    memo.embed(["a b c"])  # evicted as the oldest: embedded again
    assert inner.seen == ["a b c", "d e f", "g h i", "a b c"]
