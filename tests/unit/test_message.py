"""An incoming message is read once: bounded by KB_MAX_MESSAGE_CHARS, normalised once, and that one reading is what
detection, the dense and lexical queries and the tiers use."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import kb.lexical
import kb.normalize
from kb.config import Settings
from kb.drafting import Drafter
from kb.embedding import HashEmbedder
from kb.errors import InvalidInput
from kb.lexical import SparseEncoder
from kb.normalize import Message, normalize
from kb.retrieval import Retriever
from kb.suggest import Suggester, SuggestQuery

ROOT = Path(__file__).resolve().parents[2]


class EmptyStore:
    """Answers every search with nothing, and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[Any, Any]] = []

    def search(self, alias: str, dense: np.ndarray | None, sparse: Any, **_: Any) -> SimpleNamespace:
        self.asked.append((dense, sparse))
        return SimpleNamespace(dense=[], lexical=[])


class NoArticles:
    def get_articles(self, ids: list[str]) -> dict[str, Any]:
        return {}


def test_a_message_is_normalised_once_on_its_way_through_detection_and_both_queries(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counted(text: str) -> str:
        calls.append(text)
        return normalize(text)

    monkeypatch.setattr(kb.normalize, "normalize", counted)
    monkeypatch.setattr(kb.lexical, "normalize", counted)
    store = EmptyStore()
    retriever = Retriever(store, HashEmbedder(), SparseEncoder(), alias="kb")  # type: ignore[arg-type]
    suggester = Suggester(Settings(), retriever, Drafter(ROOT / "articles" / "_templates"), NoArticles())
    result = suggester.suggest(SuggestQuery(message="RT @kwf: Klopt het dat suiker kanker voedt?!?! #SuikerStop"))
    assert calls == ["RT @kwf: Klopt het dat suiker kanker voedt?!?! #SuikerStop"]
    assert result.no_match and str(result.language) == "nl"
    dense, sparse = store.asked[0]
    assert dense is not None and not sparse.is_empty  # both halves of the query were made from that one reading


def test_the_limit_is_the_setting_and_counts_the_message_without_surrounding_blanks() -> None:
    assert Message.bounded("  " + "x" * 200 + "\n", max_chars=200).raw == "x" * 200
    with pytest.raises(InvalidInput, match="message: 201 characters, at most 200") as refused:
        Message.bounded("x" * 201, max_chars=200)
    assert refused.value.details == {"field": "message"}
    with pytest.raises(InvalidInput, match="message: is empty"):
        Message.bounded(" \n\t ", max_chars=200)


def test_a_message_already_read_is_not_read_again() -> None:
    message = Message.of("Suiker!!! #KankerFeiten")
    assert Message.of(message) is message and Message.bounded(message, max_chars=100) is message
    assert message.text == normalize("Suiker!!! #KankerFeiten") and message.words == 3
