"""Kind-aware consistency: replies to complaints are read and compared on their tone (an apology, a next step)
as well as on their facts (eval/agent_tone.py, eval/agents.py); no model."""

from __future__ import annotations

import pytest

from eval.agent_tone import flag_tone, per_kind, read_tone, tone_of
from eval.agents import Checked, consistency

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("reply", "elements"), [
    ("Wat vervelend dat dit gebeurde, sorry! Stuur ons een DM met je gegevens.", ("apology", "next_step")),
    ("Onze excuses. Je kunt de klacht indienen via het formulier op onze site.", ("apology", "next_step")),
    ("We're sorry to hear that. Could you send us a private message?", ("apology", "next_step")),
    ("Je kunt een klacht indienen via het formulier.", ("next_step",)),
    ("Wat jammer! You can stop anytime via the form on our site, by phone or email.", ("apology", "next_step")),
    ("Wat naar om te horen.", ("apology",)),
    ("Binnen vier weken krijg je een reactie.", ()),
])
def test_the_tone_elements_are_read_in_dutch_and_english(reply: str, elements: tuple[str, ...]) -> None:
    assert tone_of(reply) == elements


@pytest.mark.parametrize("kind", [None, "", "question", "thanks", "story"])
def test_only_complaint_replies_are_read_for_tone(kind: str | None) -> None:
    assert read_tone(kind, "Sorry, stuur ons een DM.") == []


def _reply(n: int, agent: str, kind: str, tone: list[str], topic: str | None = "klacht-indienen") -> Checked:
    return Checked(f"r-{n}", agent, topic, "klacht-indienen", "consistent", 0.93, True, [], [], [], "bericht",
                   "antwoord", "", kind=kind, tone=tone)


def test_agents_are_compared_on_the_tone_of_complaint_replies_beside_the_facts() -> None:
    warm = [_reply(i, f"a{i}", "complaint", ["apology", "next_step"]) for i in range(3)]
    cold = [_reply(i + 3, f"b{i}", "complaint", []) for i in range(2)]
    alike, unlike = consistency(warm + warm), consistency(warm + cold)
    assert alike["tone"]["percent_agreement"] == 1.0 and unlike["tone"]["percent_agreement"] < 1.0
    # The facts are the same in both: their agreement is not changed by tone.
    assert alike["percent_agreement"] == unlike["percent_agreement"] == 1.0


def test_complaints_that_match_no_article_are_still_compared_on_tone() -> None:
    replies = [_reply(1, "a", "complaint", ["apology"], topic=None), _reply(2, "b", "complaint", [], topic=None)]
    tone = consistency(replies)["tone"]
    assert tone["subjects"] == 1 and tone["percent_agreement"] == 0.0


def test_per_kind_says_how_many_complaint_replies_apologise_and_give_a_next_step() -> None:
    replies = [_reply(1, "a", "complaint", ["apology", "next_step"]), _reply(2, "b", "complaint", ["apology"]),
               _reply(3, "c", "question", [])]
    figures = per_kind(replies)
    assert figures["complaint"] == {"replies": 2, "flagged": 0, "apology": 1.0, "next_step": 0.5}
    assert figures["question"] == {"replies": 1, "flagged": 0}


def test_a_complaint_reply_lacking_what_most_replies_to_its_subject_have_is_flagged() -> None:
    replies = [_reply(1, "a", "complaint", ["apology", "next_step"]), _reply(2, "b", "complaint", ["apology",
               "next_step"]), _reply(3, "c", "complaint", ["next_step"])]
    flag_tone({"klacht-indienen": replies})
    assert [r.flags for r in replies] == [[], [], ["no_apology"]]
    assert "2 of the 3 replies to complaints about klacht-indienen" in replies[2].reasons[0]


def test_where_no_agent_apologises_nobody_is_flagged_for_it() -> None:
    replies = [_reply(i, f"a{i}", "complaint", ["next_step"]) for i in range(3)]
    flag_tone({"donatie-stopzetten": replies})
    assert all(r.flags == [] for r in replies)
