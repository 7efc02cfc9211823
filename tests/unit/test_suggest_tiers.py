"""Confidence tiers, no-match, language preference and stale handling, on a fake retriever (no model)."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import pytest

from kb.article import Article, Language
from kb.channels import Channel
from kb.config import Settings
from kb.drafting import Drafter
from kb.errors import InvalidInput
from kb.parsing import parse_bytes
from kb.retrieval import CROSS_LANGUAGE_BONUS, Match, question_windows, rank_articles, without_cut_ties
from kb.store import Hit
from kb.suggest import Confidence, Suggester, SuggestQuery, TierCap

ROOT = Path(__file__).resolve().parents[2]
MIXED = ROOT / "tests" / "fixtures" / "mixed"
TODAY = dt.date(2026, 11, 22)

pytestmark = pytest.mark.unit


def load(name: str) -> Article:
    article = parse_bytes((MIXED / name).read_bytes(), name).article
    assert article is not None
    return article


class FakeRetriever:
    def __init__(self, matches: list[Match]) -> None:
        self.matches = matches

    def search(self, message: str, language: Language | None, *, limit: int) -> list[Match]:
        return self.matches[:limit]


class Articles:
    def __init__(self, *articles: Article) -> None:
        self.by_id = {a.id: a for a in articles}

    def get_articles(self, ids: list[str]) -> dict[str, Article]:
        return {i: self.by_id[i] for i in ids if i in self.by_id}


def match(article_id: str, score: float, language: str = "en") -> Match:
    return Match(article_id, language, score, score, 0.0, "matched", "claim")


@functools.cache
def drafter() -> Drafter:
    """One for the module: each Drafter starts its render processes."""
    return Drafter(ROOT / "articles" / "_templates", workers=1)


def suggester(*matches: Match) -> Suggester:
    settings = Settings(threshold_low=0.4, threshold_medium=0.5, threshold_high=0.7, short_message_words=4)
    articles = Articles(load("good-rebuttal.md"), load("good-faq.md"), load("stale-faq.md"))
    return Suggester(settings, FakeRetriever(list(matches)), drafter(),  # type: ignore[arg-type]
                     articles, clock=lambda: TODAY)


LONG = "does baking soda really cure cancer like my neighbour keeps telling me"


H, M, L = Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW
SHORT, STALE = TierCap.SHORT_MESSAGE, TierCap.STALE
#: The whole tier table (thresholds low 0.4, medium 0.5, high 0.7; at most 4 words is short): score, words, stale
#: -> tier and what capped it. Each edge is on both sides of its line.
TIER_TABLE = [
    (0.95, 12, False, H, None), (0.70, 12, False, H, None), (0.6999, 12, False, M, None),
    (0.50, 12, False, M, None), (0.4999, 12, False, L, None), (0.40, 12, False, L, None),
    (0.95, 4, False, M, SHORT), (0.70, 4, False, M, SHORT), (0.70, 5, False, H, None), (0.60, 4, False, M, None),
    (0.45, 4, False, L, None), (0.95, 1, False, M, SHORT),
    (0.95, 12, True, M, STALE), (0.70, 12, True, M, STALE), (0.60, 12, True, M, None), (0.45, 12, True, L, None),
    (0.95, 3, True, M, STALE), (0.45, 3, True, L, None),
]


@pytest.mark.parametrize(("score", "words", "stale", "tier", "capped_by"), TIER_TABLE)
def test_the_tier_table(score: float, words: int, stale: bool, tier: Confidence, capped_by: TierCap | None) -> None:
    assert suggester().tier(score, words=words, stale=stale) == (tier, capped_by)


@pytest.mark.parametrize(("score", "words", "stale", "tier", "capped_by"), TIER_TABLE)
def test_a_suggestion_carries_its_tier_and_the_reason_it_was_capped(score: float, words: int, stale: bool,
                                                                     tier: Confidence,
                                                                     capped_by: TierCap | None) -> None:
    article, language = ("stale-faq", Language.NL) if stale else ("good-rebuttal", Language.EN)
    message = " ".join(["woord"] * words)
    [first] = suggester(match(article, score, str(language))).suggest(
        SuggestQuery(message=message, language=language)).suggestions
    assert (first.confidence, first.tier_capped_by) == (tier, capped_by)
    assert ("short_message" in first.warnings) is (score >= 0.7 and words <= 4)
    assert ("stale" in first.warnings) is stale


def test_the_shipped_thresholds_leave_room_for_a_low_tier() -> None:
    s = Settings()
    assert s.threshold_low < s.threshold_medium < s.threshold_high


def test_tiers_follow_the_thresholds() -> None:
    for score, tier in [(0.9, Confidence.HIGH), (0.6, Confidence.MEDIUM), (0.45, Confidence.LOW)]:
        result = suggester(match("good-rebuttal", score)).suggest(SuggestQuery(message=LONG, language=Language.EN))
        assert result.suggestions[0].confidence is tier


def test_below_the_lowest_tier_there_is_no_match_and_no_draft() -> None:
    result = suggester(match("good-rebuttal", 0.39)).suggest(SuggestQuery(message=LONG, language=Language.EN))
    assert result.no_match and result.suggestions == ()


def test_very_short_message_is_never_high() -> None:
    result = suggester(match("good-rebuttal", 0.95)).suggest(SuggestQuery(message="baking soda cancer?",
                                                                          language=Language.EN))
    assert result.suggestions[0].confidence is Confidence.MEDIUM
    assert "short_message" in result.suggestions[0].warnings


def test_stale_article_is_never_high_and_says_so() -> None:
    result = suggester(match("stale-faq", 0.95, "nl")).suggest(
        SuggestQuery(message="ik wil graag vrijwilliger worden bij jullie, kan dat?", language=Language.NL))
    first = result.suggestions[0]
    assert first.confidence is Confidence.MEDIUM
    assert "stale" in first.warnings


def test_other_language_article_carries_language_fallback() -> None:
    result = suggester(match("good-rebuttal", 0.8, "en")).suggest(
        SuggestQuery(message="geneest baking soda echt kanker zoals mijn buurvrouw zegt", language=Language.NL))
    assert "language_fallback" in result.suggestions[0].warnings


def test_the_translation_in_the_message_language_takes_the_better_place_of_the_pair() -> None:
    english = Match("sugar-en", "en", 0.92, 0.92, 0.0, "sugar feeds cancer", "claim", ("suiker",))
    other = Match("good-faq", "nl", 0.91, 0.91, 0.0, "x", "claim")
    dutch = Match("suiker", "nl", 0.88, 0.88, 4.0, "suiker voedt kanker", "claim", ("sugar-en",))
    ranked = suggester(english, other, dutch).rank("voedt suiker kanker?", Language.NL)
    assert [(m.article_id, m.score, m.lexical) for m in ranked] == [("suiker", 0.92, 4.0), ("good-faq", 0.91, 0.0)]
    in_english = suggester(english, other, dutch).rank("does sugar feed cancer?", Language.EN)
    assert [m.article_id for m in in_english] == ["sugar-en", "good-faq"]


def test_an_article_without_translation_competes_on_its_score_in_any_language() -> None:
    s = suggester(match("good-rebuttal", 0.62, "en"), match("good-faq", 0.60, "nl"))
    assert [m.article_id for m in s.rank("een bericht", Language.NL)] == ["good-rebuttal", "good-faq"]


def test_empty_and_oversized_messages_are_refused() -> None:
    s = suggester(match("good-rebuttal", 0.9))
    with pytest.raises(InvalidInput, match="message: is empty"):
        s.suggest(SuggestQuery(message="   "))
    with pytest.raises(InvalidInput, match="at most 5000"):
        s.suggest(SuggestQuery(message="x" * 5001))


def test_x_channel_draft_is_used_for_x() -> None:
    result = suggester(match("good-rebuttal", 0.9)).suggest(SuggestQuery(message=LONG, channel=Channel.X,
                                                                         language=Language.EN))
    assert result.suggestions[0].draft.endswith("^HG")


def hit(article_id: str, score: float, kind: str = "claim") -> Hit:
    return Hit(f"{article_id}-{kind}-{score}", score, {"article_id": article_id, "kind": kind, "text": kind,
                                                       "language": "nl"})


def test_articles_are_scored_by_their_best_chunk_in_each_mode() -> None:
    dense = [hit("a", 0.88), hit("b", 0.86), hit("a", 0.5, "answer")]
    lexical = [hit("b", 12.0), hit("a", 1.0)]
    ranked = rank_articles(dense, lexical, "hybrid")
    by_id = {m.article_id: m for m in ranked}
    assert by_id["a"].dense == 0.88 and by_id["a"].lexical == 1.0
    assert by_id["b"].dense == 0.86 and by_id["b"].lexical == 12.0
    assert [m.article_id for m in ranked] == ["b", "a"]  # b's strong lexical evidence outweighs a's small lead
    assert [m.article_id for m in rank_articles(dense, [], "dense")] == ["a", "b"]


def test_an_article_in_the_other_language_gets_the_cross_language_bonus_when_one_is_set() -> None:
    dense = [hit("a", 0.88), Hit("b-1", 0.875, {"article_id": "b", "kind": "claim", "text": "", "language": "en"})]
    ranked = rank_articles(dense, [], "dense", language=Language.NL, cross_language_bonus=0.01)
    assert [m.article_id for m in ranked] == ["b", "a"]
    assert ranked[0].dense == 0.885
    default = rank_articles(dense, [], "dense", language=Language.NL)  # 0 since issue 24: the encoder decides
    assert default[0].dense == round(0.88 + CROSS_LANGUAGE_BONUS, 6) and default[0].article_id == "a"


def test_a_long_message_is_also_read_by_its_questions() -> None:
    story = ("Mijn moeder is vorig jaar overleden aan darmkanker en sindsdien lees ik alles wat ik vind. "
             "Mijn zus zegt dat we het dus ook gaan krijgen. Is darmkanker altijd erfelijk? "
             "Ik slaap er slecht van. Groetjes")
    assert question_windows(story) == ["Is darmkanker altijd erfelijk?"]
    assert question_windows("Is darmkanker altijd erfelijk?") == []


def test_rrf_ranks_tied_hits_alike_whatever_order_the_store_returned_them_in() -> None:
    """Qdrant returns equal scores in storage order, which differs between local mode, a server and a cluster."""
    def chunk(article_id: str, score: float) -> Hit:  # one chunk per article, found by both modes
        return Hit(article_id, score, {"article_id": article_id, "kind": "claim", "text": "", "language": "nl"})

    dense = [chunk("a", 0.9), chunk("b", 0.8), chunk("c", 0.7)]
    lexical = [chunk("c", 5.0), chunk("b", 5.0), chunk("a", 1.0)]
    one = rank_articles(dense, lexical, "hybrid", "rrf")
    other = rank_articles(dense, [lexical[1], lexical[0], lexical[2]], "hybrid", "rrf")
    assert [m.article_id for m in one] == [m.article_id for m in other] == ["b", "a", "c"]


def test_a_full_candidate_list_loses_its_last_tie_group_which_the_limit_may_have_cut() -> None:
    hits = [hit("a", 3.0), hit("b", 2.0), hit("c", 2.0)]
    assert [h.payload["article_id"] for h in without_cut_ties(hits, limit=3)] == ["a"]
    assert without_cut_ties(hits, limit=4) == hits  # not full: nothing was cut
