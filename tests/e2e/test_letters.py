"""A message written as a letter, on the real model and local Qdrant: its greeting and closing say whom it is to
and from, and the ranking is the one its body alone gets (kb.normalize.without_salutation)."""

from __future__ import annotations

from typing import Any

from kb.article import Language

LETTER = ("Geachte heer/mevrouw,\n\nOp de basisschool van mijn kleinkinderen hangt in elk lokaal een wifi-router "
          "aan het plafond. Ik maak mij zorgen dat de straling van wifi kanker geeft. Is daar onderzoek "
          "naar gedaan?\n\nMet vriendelijke groet,\nW. van Dijk")
BODY = ("Op de basisschool van mijn kleinkinderen hangt in elk lokaal een wifi-router aan het plafond. Ik maak "
        "mij zorgen dat de straling van wifi kanker geeft. Is daar onderzoek naar gedaan?")


def test_a_letter_is_ranked_as_its_body_without_greeting_and_closing(sample_engine: Any) -> None:
    letter = sample_engine.suggester.rank(LETTER, Language.NL)[:5]
    body = sample_engine.suggester.rank(BODY, Language.NL)[:5]
    assert [(m.article_id, m.score) for m in letter] == [(m.article_id, m.score) for m in body]
    assert letter[0].article_id == "wifi-cancer"
    result = sample_engine.suggester.suggest(_query(LETTER))
    assert result.suggestions and result.suggestions[0].article_id == "wifi-cancer"


def _query(message: str) -> Any:
    from kb.suggest import SuggestQuery

    return SuggestQuery(message=message)
