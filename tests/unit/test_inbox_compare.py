"""Which draft an agent sent (api/inbox/compare.py), on every shipped reply template: what the template fills in
(greeting, names, sign-off) never makes a used draft look edited, and a reply in the agent's own words is ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.inbox.compare import compare, core, levenshtein
from api.inbox.events import Draft
from kb.channels import Channel
from kb.drafting import Drafter
from kb.parsing import parse_article

pytestmark = pytest.mark.unit

ARTICLES = Path(__file__).resolve().parents[2] / "articles"
SAMPLES = ("nl/suiker-voedt-kanker.md", "nl/5g-kanker.md", "en/sugar-feeds-cancer-en.md", "nl/donatie-stopzetten.md")


def _draft(drafter: Drafter, path: str, channel: Channel, customer: str | None, agent: str | None) -> Draft:
    article = parse_article(ARTICLES / path).article
    assert article is not None
    text = drafter.draft(article, channel, customer_name=customer, signature=agent).text
    return Draft(article.id, article.meta.title, "high", 0.9, text)


@pytest.fixture(scope="module")
def drafter() -> Drafter:
    return Drafter(ARTICLES / "_templates")


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("path", SAMPLES)
def test_a_draft_sent_with_other_names_greeting_and_sign_off_is_used(drafter: Drafter, channel: Channel,
                                                                     path: str) -> None:
    offered = _draft(drafter, path, channel, "Ria", "Anna de Vries")
    for customer, agent in (("Sam", "Bert Jansen"), (None, None), ("Ria", None)):
        sent = _draft(drafter, path, channel, customer, agent).text
        result = compare(sent, [offered], customer_name="Ria", agent_name="Anna de Vries")
        assert (result.action, result.article_id, result.edit_distance) == ("used", offered.article_id, 0), sent


def test_an_x_reply_signed_as_its_sender_typed_it_is_used(drafter: Drafter) -> None:
    """On X the sign-off goes in as typed (kb/drafting.py): the sender's own, even lower-case, is set aside."""
    offered = _draft(drafter, SAMPLES[0], Channel.X, "Ria", "^AV")
    sent = _draft(drafter, SAMPLES[0], Channel.X, "Ria", "bert j.").text
    assert compare(sent, [offered], customer_name="Ria", agent_name="^AV").action == "edited"
    assert compare(sent, [offered], customer_name="Ria", agent_name="^AV", sender_name="bert j.").action == "used"


def test_an_agent_who_greets_and_signs_in_their_own_way_still_used_the_draft(drafter: Drafter) -> None:
    offered = _draft(drafter, SAMPLES[0], Channel.FACEBOOK, "Ria", "Anna")
    body = core(offered.text, ("Ria", "Anna"))
    sent = f"Goedemiddag Ria!\n\n{body.capitalize()}\n\nFijne dag, Bert"
    assert core(sent, ("Ria",)) != "" and compare(sent, [offered], customer_name="Ria").action == "used"


def test_a_changed_draft_is_edited_with_its_distance_and_an_own_reply_is_ignored(drafter: Drafter) -> None:
    sugar = _draft(drafter, SAMPLES[0], Channel.FACEBOOK, "Ria", "Anna")
    five_g = _draft(drafter, SAMPLES[1], Channel.FACEBOOK, "Ria", "Anna")
    lines = sugar.text.split("\n")
    lines.insert(3, "Vraag het gerust ook aan je huisarts.")
    edited = compare("\n".join(lines), [five_g, sugar], customer_name="Ria", agent_name="Anna")
    assert edited.action == "edited" and edited.article_id == sugar.article_id
    assert edited.edit_distance == len("Vraag het gerust ook aan je huisarts.") + 1
    shortened = compare(sugar.text.split("\n\n")[1].split(". ")[0] + ".", [sugar], customer_name="Ria")
    assert shortened.action == "edited"  # the first sentence of the draft alone
    own = compare("Hoi Ria, goede vraag! Ik zoek het voor je uit en kom er vanmiddag op terug. Groet, Anna",
                  [sugar, five_g], customer_name="Ria", agent_name="Anna")
    assert (own.action, own.article_id, own.edit_distance) == ("ignored", None, None)


def test_the_edit_distance_is_levenshteins() -> None:
    import random

    def naive(a: str, b: str) -> int:
        row = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            previous, row[0] = row[0], i
            for j, cb in enumerate(b, 1):
                previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
        return row[-1]

    rng = random.Random(22)
    for _ in range(500):
        a = "".join(rng.choice("ab c") for _ in range(rng.randint(0, 70)))
        b = "".join(rng.choice("ab c") for _ in range(rng.randint(0, 70)))
        assert levenshtein(a, b) == naive(a, b)
