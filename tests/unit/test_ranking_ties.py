"""The congruence tests' ranking comparison: tied articles may swap, anything else may not."""

from __future__ import annotations

from types import SimpleNamespace as Match

from tests.infra.ranking import same_ranking

RANKED = [Match(article_id="x", score=0.9), Match(article_id="y", score=0.8), Match(article_id="z", score=0.8)]


def test_tied_articles_may_come_in_either_order_or_either_make_the_cut() -> None:
    assert same_ranking(RANKED, [RANKED[0], RANKED[2], RANKED[1]], limit=2, tolerance=1e-6)
    assert same_ranking(RANKED, [RANKED[0], RANKED[2], RANKED[1]], limit=3, tolerance=1e-6)


def test_a_swap_of_articles_that_are_not_tied_or_a_moved_score_is_a_difference() -> None:
    assert not same_ranking(RANKED, [RANKED[1], RANKED[0], RANKED[2]], limit=2, tolerance=1e-6)
    moved = [RANKED[0], Match(article_id="y", score=0.8001), RANKED[2]]
    assert not same_ranking(RANKED, moved, limit=2, tolerance=1e-6)
    assert not same_ranking(RANKED, RANKED[:1], limit=2, tolerance=1e-6)
