"""What a message's kind does to its replies (kb.kind_replies), on a fake retriever and a fixed classifier: the
real templates of the sample KB, no model."""

from __future__ import annotations

import pytest

from kb.article import Article, Language
from kb.channels import Channel
from kb.config import Settings
from kb.drafting import Drafter
from kb.kind_replies import KindReplies, answers
from kb.kind_templates import KindTemplates
from kb.kinds import Kind, KindDecision
from kb.normalize import Message
from kb.parsing import parse_article
from kb.retrieval import Match
from kb.suggest import Suggester, SuggestQuery, SuggestResult
from tests.conftest import ARTICLES

pytestmark = pytest.mark.unit

TEMPLATES = ARTICLES / "_templates"
COMPLAINT = ("Belachelijk! Al drie weken geen antwoord op mijn mail over mijn donatie. Slechtste organisatie ooit, "
             "ik stop ermee.")


def article(path: str) -> Article:
    parsed = parse_article(ARTICLES / path).article
    assert parsed is not None
    return parsed


class Articles:
    def __init__(self, *articles: Article) -> None:
        self.by_id = {a.id: a for a in articles}

    def get_articles(self, ids: list[str]) -> dict[str, Article]:
        return {i: self.by_id[i] for i in ids if i in self.by_id}


class FakeRetriever:
    def __init__(self, *matches: Match) -> None:
        self.matches = list(matches)

    def search(self, message: str | Message, language: Language | None, *, limit: int) -> list[Match]:
        return self.matches[:limit]


class FixedKind:
    """A classifier that says what the test wants, and counts how often it was asked."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.asked = 0

    def classify(self, message: str | Message) -> KindDecision:
        self.asked += 1
        return KindDecision(self.kind, 0.9, "model")


def suggester(kind: Kind | None, *, moderation_drafts: bool = False, matches: tuple[Match, ...] | None = None,
              ) -> tuple[Suggester, FixedKind | None]:
    settings = Settings(threshold_low=0.4, threshold_medium=0.5, threshold_high=0.7)
    drafter = Drafter(TEMPLATES)
    stop = article("nl/donatie-stopzetten.md")
    calls = article("nl/telefonische-werving.md")
    ranked = matches or (Match(stop.id, "nl", 0.9, 0.9, 0.0, "t", "claim"),
                         Match(calls.id, "nl", 0.6, 0.6, 0.0, "t", "claim"))
    fixed = FixedKind(kind) if kind else None
    kinds = KindReplies(fixed, KindTemplates(TEMPLATES), drafter,  # type: ignore[arg-type]
                        moderation_drafts=moderation_drafts) if fixed else None
    return Suggester(settings, FakeRetriever(*ranked), drafter, Articles(stop, calls), kinds=kinds), fixed  # type: ignore[arg-type]


def ask(kind: Kind | None, channel: Channel = Channel.FACEBOOK, message: str = COMPLAINT,
        **kw: object) -> SuggestResult:
    s, _ = suggester(kind, **kw)  # type: ignore[arg-type]
    return s.suggest(SuggestQuery(message=message, channel=channel, language=Language.NL, customer_name="Ria"))


def test_a_question_keeps_todays_path_unchanged() -> None:
    plain, shaped = ask(None), ask(Kind.QUESTION)
    assert shaped.suggestions == plain.suggestions and shaped.no_match == plain.no_match
    assert shaped.kind is not None and shaped.kind.kind is Kind.QUESTION and shaped.kind.reply is None


def test_the_kind_is_decided_once_per_message() -> None:
    s, fixed = suggester(Kind.COMPLAINT)
    s.suggest(SuggestQuery(message=COMPLAINT, language=Language.NL))
    assert fixed is not None and fixed.asked == 1


def test_thanks_get_a_personal_thank_you_and_never_a_fact_article() -> None:
    result = ask(Kind.THANKS, message="Wat een prachtige campagne, dank jullie wel ❤️")
    assert result.suggestions == () and result.no_match
    assert result.kind is not None and result.kind.reply is not None
    assert result.kind.reply.text.startswith("Dank je wel, Ria!")


def test_a_complaint_is_acknowledged_first_and_composed_with_the_articles_answer() -> None:
    result = ask(Kind.COMPLAINT)
    assert result.kind is not None and result.kind.reply is not None
    assert "sorry" in result.kind.reply.text and "privébericht" in result.kind.reply.text
    stop = article("nl/donatie-stopzetten.md")
    draft = result.suggestions[0].draft
    ack, answer, step = (draft.index("sorry daarvoor"), draft.index(stop.sections.answer[:40]),
                         draft.index("Stuur je ons een privébericht"))
    assert ack < answer < step  # acknowledge, then explain, then the private next step
    assert result.suggestions[0].article_id == stop.id  # the article keeps its place


def test_a_complaint_on_x_shortens_the_answer_never_the_acknowledgement_or_the_next_step() -> None:
    result = ask(Kind.COMPLAINT, Channel.X)
    assert result.suggestions
    for s in result.suggestions:
        assert s.draft_length <= 280, s.draft
        assert s.draft.startswith("Hoi Ria, wat vervelend, sorry!") and "Stuur je ons een DM" in s.draft
        assert s.draft.endswith("^HG")
    # donatie-stopzetten's short answer does not fit beside the acknowledgement: its first sentence does
    assert "answer_shortened" in result.suggestions[0].warnings


def test_the_answer_shortens_by_whole_sentences_down_to_none() -> None:
    stop = article("nl/donatie-stopzetten.md")
    parts = list(answers(stop))
    assert parts[0] == (stop.sections.answer, None) and parts[1] == (stop.sections.short_answer, None)
    assert all(text is None or text.endswith((".", "!", "?")) for text, _ in parts)
    assert parts[-1] == (None, "answer_left_out")


def test_a_story_gets_its_reply_first_and_its_articles_framed_by_it() -> None:
    result = ask(Kind.STORY, message="Vandaag 5 jaar kankervrij! Nooit gedacht dat ik dit zou halen.")
    assert result.kind is not None and result.kind.reply is not None
    assert "Dank je wel dat je dit met ons deelt" in result.kind.reply.text and "ipso.nl" in result.kind.reply.text
    assert all("Dank je wel dat je dit met ons deelt" in s.draft for s in result.suggestions)


@pytest.mark.parametrize("kind", [Kind.ABUSE, Kind.SPAM])
def test_abuse_and_spam_are_flagged_with_the_guideline_and_get_no_draft(kind: Kind) -> None:
    result = ask(kind, message="Stelletje klootzakken")
    assert result.suggestions == () and result.kind is not None and result.kind.reply is None
    assert result.kind.moderation is not None and result.kind.moderation.action == "hide"
    assert result.kind.guideline and "niet" in result.kind.guideline.lower()


def test_with_moderation_drafts_abuse_keeps_its_articles_and_its_flag() -> None:
    result = ask(Kind.ABUSE, moderation_drafts=True)
    assert result.suggestions and result.kind is not None and result.kind.moderation is not None


def test_offtopic_gets_a_reply_only_when_no_article_is_shown() -> None:
    with_article = ask(Kind.OFFTOPIC)
    assert with_article.suggestions and with_article.kind is not None and with_article.kind.reply is None
    low = (Match("donatie-stopzetten", "nl", 0.1, 0.1, 0.0, "t", "claim"),)
    without = ask(Kind.OFFTOPIC, matches=low)
    assert without.no_match and without.kind is not None and without.kind.reply is not None


def test_an_english_message_gets_the_english_reply() -> None:
    s, _ = suggester(Kind.THANKS)
    result = s.suggest(SuggestQuery(message="Thank you so much!", language=Language.EN, customer_name="Sam"))
    assert result.kind is not None and result.kind.reply is not None
    assert result.kind.reply.text.startswith("Thank you, Sam!")


def test_names_are_cleaned_as_in_article_drafts() -> None:
    s, _ = suggester(Kind.THANKS)
    result = s.suggest(SuggestQuery(message="top!", language=Language.NL, customer_name="<script>x</script>"))
    assert result.kind is not None and result.kind.reply is not None
    assert "<script>" not in result.kind.reply.text and result.kind.reply.text.startswith("Dank je wel!")


def test_a_channel_without_its_own_kind_template_uses_the_default() -> None:
    assert KindTemplates(TEMPLATES).reply_name(Kind.COMPLAINT, Channel.WHATSAPP, Language.EN) == \
        "kinds/complaint.default.en.j2"
