"""Learned phrasings on a deterministic fake embedder: counting, the activation rules, do-no-harm, editors'
decisions, reconciling with the served articles, and the evidence's effect on a ranking and its probabilities."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from kb.embedding import HashEmbedder, RecentQueries
from kb.errors import InvalidInput
from kb.learned import (
    AGENT_RIGHT,
    LearnedEvidence,
    learned_of,
    learned_probabilities,
    support,
)
from kb.learning import Book, Observation, Rules, Status, decide, observe, reconcile, withdraw
from kb.near_repeat import NearRepeat
from kb.normalize import Message
from kb.retrieval import Match

pytestmark = pytest.mark.unit

EMBEDDER = HashEmbedder(dim=256)
MEASURE = NearRepeat("test/hash-256", np.zeros(256, np.float32), cut=0.7, precision=0.99, fitted_on="unit test")
RULES = Rules(min_agents=2, short_words=4)
SUGAR = "klopt het dat suiker kanker voedt want mijn tante zegt het"
SUGAR_COPIES = ("RT @ria: klopt het dat suiker kanker voedt want mijn tante zegt het #deeldit",
                "klopt het dat suiker kanker voedt want mijn tante zegt het echt",
                "Klopt het dat suikr kanker voedt want mijn tante zegt het!!")
FIVE_G = "geeft die nieuwe 5g mast naast de school echt kanker bij kinderen"
_clock = itertools.count()


def seen(text: str, article: str, agent: str, action: str = "used", request: str = "") -> Observation:
    """`agent`'s choice for `article` on a message; `request` names the suggestion (default: one of its own)."""
    read = Message.of(text)
    vector = EMBEDDER.embed([read.text], kind="query")[0]
    tick = next(_clock)
    at = f"2026-12-01T{10 + tick // 60:02d}:{tick % 60:02d}:00+00:00"
    return Observation(article, text, vector, agent, action, at, "nl", request_id=request or f"r{tick}")


def learn(book: Book, *events: Observation, rules: Rules = RULES) -> None:
    for event in events:
        observe(book, rules, event)


def only(book: Book, article: str):  # type: ignore[no-untyped-def]
    found = [p for p in book.phrasings.values() if p.article_id == article]
    assert len(found) == 1, found
    return found[0]


def test_near_identical_confirmations_join_one_phrasing_counted_per_distinct_agent() -> None:
    book = Book(MEASURE)
    learn(book, seen(SUGAR, "suiker", "k1"), seen(SUGAR_COPIES[0], "suiker", "k1"),
          seen(SUGAR_COPIES[1], "suiker", "k2"))
    p = only(book, "suiker")
    assert (p.confirmations, set(p.confirmers), p.status) == (3, {"k1", "k2"}, Status.ACTIVE)
    assert p.first_seen < p.last_seen


def test_one_agent_never_activates_a_phrasing_however_often_they_confirm() -> None:
    book = Book(MEASURE)
    learn(book, *(seen(text, "wrong-article", "k1") for text in (SUGAR, *SUGAR_COPIES, *SUGAR_COPIES)))
    p = only(book, "wrong-article")
    assert p.confirmations == 7 and p.status is Status.CANDIDATE
    assert book.evidence() == []


def test_a_rejection_by_another_agent_counts_against_a_phrasing() -> None:
    book = Book(MEASURE)
    learn(book, seen(SUGAR, "suiker", "k1"), seen(SUGAR_COPIES[0], "suiker", "k2"))
    assert only(book, "suiker").status is Status.ACTIVE
    learn(book, seen(SUGAR_COPIES[1], "suiker", "k3", action="rejected"))
    assert only(book, "suiker").status is Status.CANDIDATE
    learn(book, seen(SUGAR_COPIES[2], "suiker", "k4"), seen(SUGAR_COPIES[2], "suiker", "k5"))
    assert only(book, "suiker").status is Status.ACTIVE  # 4 confirming, 1 rejecting: 3 >= 2


def test_a_change_of_mind_counts_the_choice_that_stands_used_then_rejected_is_one_rejection() -> None:
    book = Book(MEASURE)
    learn(book, seen(SUGAR, "suiker", "k1", request="r1"), seen(SUGAR, "suiker", "k1", "rejected", request="r1"))
    p = only(book, "suiker")
    assert (p.confirmations, dict(p.confirmers), dict(p.rejecters)) == (0, {}, {"k1": 1})
    assert book.standing[("r1", "suiker")].action == "rejected"


def test_a_withdrawn_choice_counts_nothing() -> None:
    book = Book(MEASURE)
    learn(book, seen(SUGAR, "suiker", "k1", request="r1"))
    changed = withdraw(book, RULES, "r1", "suiker")
    p = only(book, "suiker")
    assert changed == [p] and (p.confirmations, dict(p.confirmers), dict(p.rejecters)) == (0, {}, {})
    assert book.standing == {} and withdraw(book, RULES, "r1", "suiker") == []  # nothing left to take back
    learn(book, seen(SUGAR, "suiker", "k1", "no_good_answer", request="r2"))  # counts nothing either
    assert only(book, "suiker").confirmations == 0


def test_two_agents_standing_choices_decide_and_a_change_of_mind_moves_the_phrasing_in_and_out_of_force() -> None:
    book = Book(MEASURE)
    learn(book, seen(SUGAR, "suiker", "k1", request="r1"), seen(SUGAR_COPIES[0], "suiker", "k2", request="r2"))
    assert only(book, "suiker").status is Status.ACTIVE
    learn(book, seen(SUGAR_COPIES[0], "suiker", "k2", "rejected", request="r2"))  # k2 changes their mind
    p = only(book, "suiker")
    assert (p.confirmations, dict(p.confirmers), dict(p.rejecters), p.status) == \
        (1, {"k1": 1}, {"k2": 1}, Status.CANDIDATE)
    assert book.evidence() == []
    learn(book, seen(SUGAR_COPIES[0], "suiker", "k2", "edited", request="r2"))  # and back: confirmed again
    p = only(book, "suiker")
    assert (p.confirmations, dict(p.confirmers), p.rejecters, p.status) == (2, {"k1": 1, "k2": 1}, {}, Status.ACTIVE)
    withdraw(book, RULES, "r1", "suiker")  # k1's undo: one agent left, out of force
    assert (only(book, "suiker").status, dict(only(book, "suiker").confirmers)) == (Status.CANDIDATE, {"k2": 1})


def test_an_agent_with_two_standing_confirmations_stays_a_confirmer_when_one_is_withdrawn() -> None:
    book = Book(MEASURE)
    learn(book, seen(SUGAR, "suiker", "k1", request="r1"), seen(SUGAR_COPIES[0], "suiker", "k1", request="r2"),
          seen(SUGAR_COPIES[1], "suiker", "k2", request="r3"))
    withdraw(book, RULES, "r2", "suiker")
    p = only(book, "suiker")
    assert (p.confirmations, dict(p.confirmers), p.status) == (2, {"k1": 1, "k2": 1}, Status.ACTIVE)


def test_different_messages_about_the_same_article_stay_separate_phrasings() -> None:
    book = Book(MEASURE)
    learn(book, seen(SUGAR, "a", "k1"), seen("mag ik nog fruit eten nu ik chemo krijg vanwege de suiker", "a", "k2"))
    assert len(book.phrasings) == 2
    assert all(p.status is Status.CANDIDATE for p in book.phrasings.values())


def test_short_messages_are_never_learned() -> None:
    book = Book(MEASURE)
    learn(book, seen("suiker voedt kanker", "suiker", "k1"), seen("suiker voedt kanker!", "suiker", "k2"))
    assert book.phrasings == {}


@pytest.mark.parametrize("value", [1, -1])
def test_one_agent_activation_cannot_be_configured(value: int) -> None:
    with pytest.raises(InvalidInput, match="one agent can never"):
        Rules(min_agents=value)


def test_zero_min_agents_means_only_editors_activate() -> None:
    rules = Rules(min_agents=0)
    book = Book(MEASURE)
    learn(book, *(seen(SUGAR, "suiker", f"k{i}") for i in range(5)), rules=rules)
    assert only(book, "suiker").status is Status.CANDIDATE
    decide(book, rules, only(book, "suiker").id, "approve", "editor-1")
    assert only(book, "suiker").is_evidence


def test_a_phrasing_that_would_take_a_confirmed_message_from_another_article_is_held() -> None:
    book = Book(MEASURE)
    learn(book, seen(SUGAR, "suiker", "k1"), seen(SUGAR_COPIES[0], "suiker", "k2"))
    assert only(book, "suiker").is_evidence
    # one agent confirms another article for a copy: the history now has a confirmed message the evidence takes
    learn(book, seen(SUGAR_COPIES[1], "other", "k3"))
    sugar = only(book, "suiker")
    assert not sugar.is_evidence and sugar.held is not None and "other" in sugar.held
    assert book.evidence() == []
    # an editor rejects the odd one out: the conflict is gone and the phrasing is evidence again
    decide(book, RULES, only(book, "other").id, "reject", "editor-1")
    assert only(book, "suiker").is_evidence


def test_editor_decisions_approve_reject_and_remove() -> None:
    book = Book(MEASURE)
    learn(book, seen(SUGAR, "suiker", "k1"))
    pid = only(book, "suiker").id
    decide(book, RULES, pid, "approve", "ed", article_hash="h1")
    p = only(book, "suiker")
    assert p.is_evidence and p.status is Status.APPROVED and p.article_hash == "h1" and p.decided_by == "ed"
    decide(book, RULES, pid, "remove", "ed")
    assert only(book, "suiker").status is Status.REJECTED
    learn(book, *(seen(SUGAR_COPIES[i], "suiker", f"k{i + 5}") for i in range(3)))  # near-repeats join it, stay out
    assert only(book, "suiker").status is Status.REJECTED and book.evidence() == []
    with pytest.raises(InvalidInput, match="decision"):
        decide(book, RULES, pid, "maybe", "ed")


def test_reconcile_drops_phrasings_of_removed_articles_and_flags_changed_ones() -> None:
    book = Book(MEASURE)
    learn(book, seen(SUGAR, "suiker", "k1"), seen(SUGAR_COPIES[0], "suiker", "k2"),
          seen(FIVE_G, "5g", "k1"), seen(FIVE_G + "!!", "5g", "k2"))
    reconcile(book, RULES, {"suiker": "h1", "5g": "g1"})
    assert only(book, "suiker").article_hash == "h1" and not only(book, "suiker").review
    changed = reconcile(book, RULES, {"suiker": "h2"})
    assert {p.article_id for p in changed} == {"suiker", "5g"}
    assert only(book, "suiker").review and only(book, "suiker").is_evidence
    five_g = only(book, "5g")
    assert five_g.status is Status.DROPPED and five_g.text == ""
    assert [e.article_id for e in book.evidence()] == ["suiker"]


def _ranked() -> list[Match]:
    return [Match("5g", "nl", 0.93, 0.93, 0.0, "5g claim", "claim"),
            Match("suiker", "nl", 0.90, 0.90, 0.0, "suiker claim", "claim"),
            Match("deodorant", "nl", 0.88, 0.88, 0.0, "deo claim", "claim")]


def _evidence(agents: int, *texts: str, article: str = "suiker") -> LearnedEvidence:
    evidence = LearnedEvidence(MEASURE, EMBEDDER, short_words=4)
    book = Book(MEASURE)
    for i, text in enumerate(texts or (SUGAR,)):
        learn(book, *(seen(text, article, f"k{i}-{a}") for a in range(agents)))
    evidence.replace(book.evidence({article: ("nl", "Voedt suiker kanker?")}))
    return evidence


def test_a_near_repeat_of_evidence_puts_its_article_first_and_says_so() -> None:
    evidence = _evidence(2)
    reranked = evidence.rerank(Message.of(SUGAR_COPIES[0]), _ranked())
    assert [m.article_id for m in reranked] == ["suiker", "5g", "deodorant"]
    learned = learned_of(reranked[0])
    assert learned is not None and learned.agents == 2 and not learned.approved
    assert reranked[0].score == 0.90  # retrieval's own scores are kept


def test_an_unrelated_message_is_not_affected_by_evidence() -> None:
    evidence = _evidence(3)
    ranked = _ranked()
    assert evidence.rerank(Message.of(FIVE_G), ranked) == ranked
    assert evidence.rerank(Message.of("klopt het dat suiker"), ranked) == ranked  # short: never


def test_evidence_for_an_article_retrieval_did_not_return_gets_a_match_of_its_own() -> None:
    evidence = _evidence(2, article="kanker-besmettelijk")
    reranked = evidence.rerank(Message.of(SUGAR_COPIES[1]), _ranked())
    assert reranked[0].article_id == "kanker-besmettelijk" and reranked[0].matched_kind == "learned"
    assert reranked[0].score == min(m.score for m in _ranked())


def test_near_repeats_of_two_articles_evidence_at_once_count_for_neither() -> None:
    evidence = LearnedEvidence(MEASURE, EMBEDDER, short_words=4)
    book_a, book_b = Book(MEASURE), Book(MEASURE)
    learn(book_a, seen(SUGAR, "suiker", "k1"), seen(SUGAR, "suiker", "k2"))
    learn(book_b, seen(SUGAR_COPIES[1], "other", "k3"), seen(SUGAR_COPIES[1], "other", "k4"))
    evidence.replace(book_a.evidence() + book_b.evidence())
    assert evidence.rerank(Message.of(SUGAR_COPIES[2]), _ranked()) == _ranked()


def test_one_agents_support_stays_below_high_and_two_reach_it() -> None:
    assert support(1, False) == AGENT_RIGHT < 0.84 <= support(2, False)
    assert support(0, True) == 1.0


def test_learned_article_takes_the_supported_probability_and_the_others_what_is_left() -> None:
    reranked = _evidence(2).rerank(Message.of(SUGAR_COPIES[0]), _ranked())
    probabilities = learned_probabilities(reranked, [0.2, 0.9, 0.1])
    expected = round(0.99 * support(2, False), 6)
    assert probabilities == [expected, round(1 - expected, 6), round(1 - expected, 6)]
    assert learned_probabilities(_ranked(), [0.2, 0.9, 0.1]) == [0.2, 0.9, 0.1]


def test_the_evidence_reuses_the_retrievers_vector_for_the_message() -> None:
    class Counting(HashEmbedder):
        calls = 0

        def embed(self, texts, *, kind="passage"):  # type: ignore[no-untyped-def]
            Counting.calls += 1
            return super().embed(texts, kind=kind)

    embedder = RecentQueries(Counting(dim=256))
    embedder.embed([Message.of(SUGAR_COPIES[0]).text, "a question window?"], kind="query")  # the retriever
    evidence = _evidence(2)
    evidence.embedder = embedder
    assert learned_of(evidence.rerank(Message.of(SUGAR_COPIES[0]), _ranked())[0]) is not None
    assert Counting.calls == 1


def test_evidence_swaps_whole() -> None:
    evidence = _evidence(2)
    assert len(evidence) == 1
    evidence.replace([])
    assert len(evidence) == 0 and evidence.rerank(Message.of(SUGAR_COPIES[0]), _ranked()) == _ranked()


def test_a_learned_match_keeps_every_field_of_the_match_it_wraps() -> None:
    reranked = _evidence(2).rerank(Message.of(SUGAR_COPIES[0]), _ranked())
    own = _ranked()[1]
    assert {f.name: getattr(reranked[0], f.name) for f in dataclasses.fields(Match)} == dataclasses.asdict(own)


def test_the_suggester_keeps_an_evidence_source_that_is_empty_when_given() -> None:
    from kb.config import Settings
    from kb.suggest import Suggester

    evidence = LearnedEvidence(MEASURE, EMBEDDER, short_words=4)  # empty, so falsy: still the one consulted
    suggester = Suggester(Settings(), None, None, None, evidence=evidence)  # type: ignore[arg-type]
    assert suggester.evidence is evidence
