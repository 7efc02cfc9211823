"""An incoming message is read once: bounded by KB_MAX_MESSAGE_CHARS and normalised once each way, `text` for
detection and the tiers, `query` (names and handles kept) for the dense and lexical queries."""

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


def test_a_message_is_normalised_once_each_way_on_its_way_through_detection_and_both_queries(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, bool]] = []

    def counted(text: str, *, keep_names: bool = False) -> str:
        calls.append((text, keep_names))
        return normalize(text, keep_names=keep_names)

    monkeypatch.setattr(kb.normalize, "normalize", counted)
    monkeypatch.setattr(kb.lexical, "normalize", counted)
    store = EmptyStore()
    retriever = Retriever(store, HashEmbedder(), SparseEncoder(), alias="kb")  # type: ignore[arg-type]
    suggester = Suggester(Settings(), retriever, Drafter(ROOT / "articles" / "_templates"), NoArticles())
    result = suggester.suggest(SuggestQuery(message="RT @kwf: Klopt het dat suiker kanker voedt?!?! #SuikerStop"))
    raw = "RT @kwf: Klopt het dat suiker kanker voedt?!?! #SuikerStop"
    assert calls == [(raw, False), (raw, True)]
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


def test_retrieval_reads_the_names_a_message_quotes_where_detection_does_not() -> None:
    message = Message.of("Zei @jansmit dit echt? — Jan Smit (@jansmit) May 3, 2020")
    assert message.text == "Zei dit echt?"
    assert message.query == "Zei jansmit dit echt? — Jan Smit (jansmit) May 3, 2020"
    assert message.words == 3  # the tiers count the words of the message, not of its signature


def test_handles_that_only_address_someone_are_dropped_from_both_readings() -> None:
    for text in ("@HoopGezondheid moet de router 's nachts uit?", "moet de router 's nachts uit? @HoopGezondheid",
                 "@a @b moet de router 's nachts uit? @c\n"):
        assert Message.of(text).query == Message.of(text).text == "moet de router 's nachts uit?"


def test_the_gentle_reading_still_drops_links_retweet_marks_and_pictures() -> None:
    text = "RT @kwf: Suiker voedt kanker, zegt @kwf!!! 🙄 https://t.co/x pic.twitter.com/AbC #SuikerStop"
    assert normalize(text, keep_names=True) == "Suiker voedt kanker, zegt kwf! Suiker Stop"
    assert normalize(text) == "Suiker voedt kanker, zegt ! Suiker Stop"


def test_the_retriever_embeds_and_matches_the_reading_with_names_kept() -> None:
    embedded: list[str] = []

    class Recording(HashEmbedder):
        def embed(self, texts: Any, *, kind: Any) -> np.ndarray:
            embedded.extend(texts)
            return super().embed(texts, kind=kind)

    store = EmptyStore()
    retriever = Retriever(store, Recording(), SparseEncoder(), alias="kb")  # type: ignore[arg-type]
    retriever.search("Klopt dit? — Clint Eastwood (@ClintEastwood) May 3, 2020", None, limit=3)
    assert embedded == ["Klopt dit? — Clint Eastwood (ClintEastwood) May 3, 2020"]
    _, sparse = store.asked[0]
    assert len(sparse.indices) > len(SparseEncoder().encode_query("Klopt dit?", None).indices)


def test_a_retriever_asked_to_read_the_message_as_written_too_embeds_it_once_more_only_when_it_differs() -> None:
    embedded: list[list[str]] = []

    class Recording(HashEmbedder):
        def embed(self, texts: Any, *, kind: Any) -> np.ndarray:
            embedded.append(list(texts))
            return super().embed(texts, kind=kind)

    retriever = Retriever(EmptyStore(), Recording(), SparseEncoder(), alias="kb",  # type: ignore[arg-type]
                          as_written=True)
    retriever.search("Suiker!!! #KankerFeiten", None, limit=3)
    retriever.search("Voedt suiker kanker?", None, limit=3)
    assert embedded == [["Suiker! Kanker Feiten", "Suiker!!! #KankerFeiten"], ["Voedt suiker kanker?"]]


@pytest.mark.parametrize(("letter", "body"), [
    ("Geachte heer/mevrouw, Mag ik mijn gift aftrekken? Met vriendelijke groet, mevr. T. Bakker",
     "Mag ik mijn gift aftrekken?"),
    ("Geachte heer, mevrouw, Mag ik mijn gift aftrekken? Hartelijke groet, Ans", "Mag ik mijn gift aftrekken?"),
    ("Beste Hoop Gezondheid, Kan mijn zoon van 16 vrijwilliger worden? Groetjes Monique",
     "Kan mijn zoon van 16 vrijwilliger worden?"),
    ("Geachte heer/mevrouw, Mag ik mijn gift aftrekken? Hoogachtend, B. Terpstra", "Mag ik mijn gift aftrekken?"),
    ("Dear Sir or Madam, Does frankincense oil shrink tumours? Kind regards, Peter Holt",
     "Does frankincense oil shrink tumours?"),
    ("To whom it may concern, Your collector was rude to my mother. Regards, M. Jennings",
     "Your collector was rude to my mother."),
    ("hoi! mn moeder wil stoppen met haar donatie, hoe werkt dat",
     "mn moeder wil stoppen met haar donatie, hoe werkt dat"),
])
def test_a_letters_greeting_and_closing_are_not_part_of_what_retrieval_reads(letter: str, body: str) -> None:
    read = Message.of(letter)
    assert read.query == body
    assert read.text == normalize(letter)  # detection and the kinds still read the whole letter


@pytest.mark.parametrize("text", [
    "Hoi! Groetjes",  # nothing left but the salutation: read whole
    "goedemiddag mijn internet doet het al 2 dagen niet, wanneer komt de monteur nou?",  # no greeting of its own
    "Beste mensen die dit lezen: doe mee aan het bevolkingsonderzoek",  # five words before the colon
    "Thank you for the info, but does sugar feed cancer or not?",  # thanks that open a question, not a closing
])
def test_a_message_without_a_letters_greeting_or_closing_is_read_whole(text: str) -> None:
    assert Message.of(text).query == normalize(text, keep_names=True)
