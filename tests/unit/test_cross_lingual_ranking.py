"""Lexical evidence orders articles within one language and never across; the second stage re-orders only the
first few candidates; the no-match line is read from the line messages alone."""

from __future__ import annotations

import pytest

from eval.calibrate import Row, no_match_line
from kb.rerank import FEATURES, Reranker, features
from kb.retrieval import Match, rank_articles
from kb.store import Hit

pytestmark = pytest.mark.unit


def _hit(point: str, score: float, article: str, language: str, kind: str = "claim") -> Hit:
    return Hit(point, score, {"article_id": article, "language": language, "text": point, "kind": kind})


def test_lexical_evidence_never_lifts_a_same_language_article_over_a_better_other_language_one() -> None:
    dense = [_hit("en1", 0.90, "wifi-en", "en"), _hit("nl1", 0.88, "router-nl", "nl")]
    lexical = [_hit("nl1", 25.0, "router-nl", "nl")]
    within = rank_articles(dense, lexical, "hybrid", language=None)
    across = rank_articles(dense, lexical, "hybrid", language=None, within_language=False)
    assert [m.article_id for m in within] == ["wifi-en", "router-nl"]
    assert [m.article_id for m in across] == ["router-nl", "wifi-en"]  # what the old fusion did


def test_lexical_evidence_still_decides_between_articles_of_one_language() -> None:
    dense = [_hit("a1", 0.90, "a", "nl"), _hit("b1", 0.89, "b", "nl")]
    ranked = rank_articles(dense, [_hit("b1", 10.0, "b", "nl")], "hybrid")
    assert [m.article_id for m in ranked] == ["b", "a"]


def test_each_match_carries_its_best_claim_and_its_best_passage_cosine() -> None:
    dense = [_hit("c", 0.91, "a", "nl", "claim"), _hit("p", 0.85, "a", "nl", "answer"),
             _hit("x", 0.80, "b", "nl", "background")]
    a, b = rank_articles(dense, [], "dense")
    assert (a.dense_query, a.dense_passage) == (0.91, 0.85)
    assert (b.dense_query, b.dense_passage) == (0.80, 0.80)  # no claim returned: the floor


def test_second_stage_reorders_only_its_head_and_says_how_sure_it_is() -> None:
    m = [Match(str(i), "nl", 0.9 - i / 100, 0.9 - i / 100, 0.0, "t", "claim", dense_query=0.9 - i / 100,
               dense_passage=0.8 + i / 100) for i in range(4)]
    passage_only = Reranker("m", FEATURES, tuple(1.0 if f == "passage_gap" else 0.0 for f in FEATURES), "t", top=3)
    out = passage_only.rerank(m, "nl")
    assert [x.article_id for x in out] == ["2", "1", "0", "3"]
    assert out[0].rerank is not None and out[0].rerank > out[1].rerank  # type: ignore[operator]
    assert out[3].rerank is None
    assert len(features(m[:3], "nl")[0]) == len(FEATURES)


def test_no_match_line_ignores_messages_written_from_the_claims() -> None:
    line = [Row(f"bl-{i}", 0, (), True, True, "golden", True) for i in range(3)]
    claims = [Row(f"core-{i}", 0, (), True, True, "golden", False) for i in range(3)]
    assert no_match_line([*line, *claims], [0.3, 0.4, 0.5, 0.01, 0.02, 0.03], shown=1.0) == 0.3
