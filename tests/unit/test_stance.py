"""The stance check never holds the knowledge base's own words against an agent: every draft the shipped templates
render (each served article in each channel and language, with and without a name and a sign-off) passes it,
while an agent's own affirmation of a myth is still caught. No model: the check reads words."""

from __future__ import annotations

import pytest

from eval.stance import ApprovedText, drafts, own_stance, sentences, stance
from kb.article import Article, Verdict
from kb.corpus import load_corpus
from kb.drafting import Drafter
from tests.conftest import ARTICLES

pytestmark = pytest.mark.unit

SERVED = sorted(load_corpus(ARTICLES).served(), key=lambda a: a.id)
MYTHS = {Verdict.FALSE, Verdict.MISLEADING, Verdict.UNPROVEN}
DRAFTER = Drafter(ARTICLES / "_templates")
APPROVED = ApprovedText.of(SERVED, DRAFTER)
SUNBED = next(a for a in SERVED if a.id == "zonnebank-vitamine-d")
#: The reply from the shift that was flagged `different_stance`: the approved draft, sent unchanged.
REPORTED = ("Goed dat je het even navraagt. Het klopt dat je huid vitamine D aanmaakt onder invloed van "
            "uv-straling, maar de zonnebank is daar geen gezonde manier voor.")


def _as_myth(article: Article) -> tuple[bool, bool]:
    return article.meta.verdict in MYTHS, article.meta.verdict == Verdict.TRUE


def test_every_shipped_draft_passes_the_stance_check_against_its_own_article_and_any_myth() -> None:
    rendered = list(drafts(SERVED, DRAFTER, names=(None, "Ria", "Anne-Marie de Vries"),
                           signatures=(None, "Sanne", "^SA")))
    assert len(rendered) == len(SERVED) * 5 * 3 * 3 and len(SERVED) >= 60
    flagged = []
    for article, channel, text in rendered:
        myth, true_claim = _as_myth(article)
        assert APPROVED.is_kb_draft(text), (article.id, channel, APPROVED.own_words(text))
        # against its own verdict, and as if the message had raised a myth the draft is not about
        for judged in ((myth, true_claim), (True, False)):
            if own_stance(APPROVED, text, *judged) is not None:
                flagged.append((article.id, str(channel), judged))
    assert flagged == []


def test_the_reported_reply_is_a_concession_not_an_affirmation_even_without_the_approved_text() -> None:
    assert REPORTED in SUNBED.sections.answer
    assert stance(REPORTED, myth=True, true_claim=False) is None  # the words alone: "klopt …, maar …"
    assert own_stance(APPROVED, f"Hoi Ria! {REPORTED} https://www.iarc.who.int/ ^SA", True, False) is None


@pytest.mark.parametrize("reply", [
    "Klopt, een zonnebank helpt echt tegen een vitamine D-tekort.",
    "Hoi Ria, klopt helemaal hoor, af en toe zonnebanken kan geen kwaad.",
    "Inderdaad! Probeer het gerust een paar keer per week.",
    "That's right, a base tan protects you.",
])
def test_an_agents_own_affirmation_of_a_myth_is_still_caught(reply: str) -> None:
    found = stance(reply, myth=True, true_claim=False)
    assert found is not None and found[0] == "affirms", found
    # ... also with the approved draft pasted below it: the approved words do not cancel the agent's own
    assert own_stance(APPROVED, f"{reply}\n\n{SUNBED.sections.answer}", True, False) is not None


def test_approved_sentences_are_left_out_and_the_agents_own_kept() -> None:
    reply = f"Hoi Ria!\n\n{SUNBED.sections.short_answer}\n\nIk snap dat het verleidelijk is.\n\nGroetjes, Sanne"
    assert APPROVED.own_words(reply) == "Ik snap dat het verleidelijk is."
    assert not APPROVED.is_kb_draft(reply)
    assert sentences("Klopt het dat? Ja.") == ["Klopt het dat?", "Ja."]
    assert stance("Klopt het dat de zonnebank helpt?", True, False) is None  # a question asks, it does not affirm
