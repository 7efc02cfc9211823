"""The answerability gate: its signals, its file, its one seam in the suggestion path, and how its line is chosen,
on a fake retriever (no model)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from eval.answerable import GateRow, choose_line, figures, figures_by_part, fit_gate, fold_of, no_match, out_of_fold
from kb.answerable import FEATURES, AnswerGate, gate_file, load_gate, signals
from kb.article import Language
from kb.config import Settings
from kb.errors import ConfigError
from kb.learned import Learned, LearnedMatch
from kb.retrieval import Match
from kb.suggest import Suggester, SuggestQuery
from tests.unit.test_suggest_tiers import LONG, TODAY, Articles, FakeRetriever, drafter, load

pytestmark = pytest.mark.unit

GATE = AnswerGate("m", ("top_cosine",), (0.88,), (0.01,), (0.0, 2.0), line=0.5, fitted_on="test")


def cosine(article_id: str, dense: float) -> Match:
    return Match(article_id, "en", dense, dense, 0.0, "matched", "claim")


def suggester(gate: AnswerGate | None, *matches: Match) -> Suggester:
    settings = Settings(threshold_low=0.4, threshold_medium=0.5, threshold_high=0.7)
    articles = Articles(load("good-rebuttal.md"), load("good-faq.md"))
    return Suggester(settings, FakeRetriever(list(matches)), drafter(), articles,  # type: ignore[arg-type]
                     clock=lambda: TODAY, gate=gate)


def test_a_message_the_gate_rejects_gets_no_match_even_when_a_candidate_clears_the_low_line() -> None:
    # the fused score is the probability without a calibration: 0.86 clears threshold_low 0.4 by far
    far = suggester(GATE, cosine("good-rebuttal", 0.86)).suggest(SuggestQuery(LONG, language=Language.EN))
    assert far.no_match and far.suggestions == ()


def test_a_message_the_gate_accepts_keeps_its_tiers() -> None:
    near = suggester(GATE, cosine("good-rebuttal", 0.90)).suggest(SuggestQuery(LONG, language=Language.EN))
    assert [s.article_id for s in near.suggestions] == ["good-rebuttal"]


def test_an_article_agents_confirmed_for_a_near_repeat_is_shown_whatever_the_gate_reads() -> None:
    learned = LearnedMatch("good-rebuttal", "en", 0.86, 0.86, 0.0, "matched", "claim",
                           learned=Learned("phrasing-1", 0.97, 0.95, agents=2, approved=True))
    result = suggester(GATE, learned).suggest(SuggestQuery(LONG, language=Language.EN))
    assert [(s.article_id, s.learned) for s in result.suggestions] == [("good-rebuttal", True)]


def test_without_a_gate_only_the_low_line_decides() -> None:
    result = suggester(None, cosine("good-rebuttal", 0.86)).suggest(SuggestQuery(LONG, language=Language.EN))
    assert not result.no_match


def test_signals_read_the_whole_head_of_the_ranking() -> None:
    ranked = [cosine("a", 0.90), cosine("b", 0.86), dataclasses.replace(cosine("c", 0.80), lexical=20.0)]
    s = signals(ranked, [0.9, 0.05, 0.01], words=7, kinds={"thanks": 0.8})
    assert set(s) == set(FEATURES) - {"outside_cosine"}  # no outside list given: that feature is left out
    assert "kind_thanks" not in signals(ranked, [0.9, 0.05, 0.01], words=7)  # kinds off: read as their mean
    assert signals(ranked, [0.9, 0.05, 0.01], words=7, outside=0.83)["outside_cosine"] == 0.83
    assert s["top_cosine"] == 0.90 and s["mean_cosine"] == pytest.approx((0.90 + 0.86 + 0.80) / 3)
    assert s["cosine_margin"] == pytest.approx(0.04)
    assert s["lexical"] == 0.0 and s["lexical_best"] > 0.5  # the lexically best is not the first
    assert s["confidence_logit"] > 2 and s["kind_thanks"] == 0.8 and s["kind_spam"] == 0.0


def test_a_gate_reads_a_missing_outside_cosine_as_its_mean_and_a_close_one_as_less_answerable() -> None:
    gate = AnswerGate("m", ("top_cosine", "outside_cosine"), (0.88, 0.80), (0.01, 0.02), (0.0, 2.0, -1.5),
                      line=0.5, fitted_on="test")
    without = gate.probability({"top_cosine": 0.88})
    assert without == pytest.approx(gate.probability({"top_cosine": 0.88, "outside_cosine": 0.80})) == 0.5
    assert gate.probability({"top_cosine": 0.88, "outside_cosine": 0.86}) < 0.1 < without
    with pytest.raises(KeyError):  # a feature every KB has is never imputed
        gate.probability({"outside_cosine": 0.8})


def test_an_empty_ranking_reads_as_unanswerable() -> None:
    s = signals([], [], words=3)
    assert not GATE.answers(s)


def test_a_gate_file_round_trips_and_a_wrong_one_names_itself(tmp_path: Path) -> None:
    assert AnswerGate.from_json(GATE.to_json(), "x") == GATE
    bad = tmp_path / "gate.json"
    bad.write_text(GATE.to_json().replace('"top_cosine"', '"shoe_size"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"gate\.json"):
        load_gate("m", bad)
    with pytest.raises(ConfigError, match="fitted for m"):
        good = tmp_path / "good.json"
        good.write_text(GATE.to_json(), encoding="utf-8")
        load_gate("another-model", good)
    with pytest.raises(ConfigError, match="does not exist"):
        load_gate("m", tmp_path / "missing.json")


def test_no_bundled_gate_means_no_gate() -> None:
    assert not gate_file("no-such-model").exists()
    assert load_gate("no-such-model") is None


def _rows() -> list[GateRow]:
    """Answerable messages sit higher on the cosine than the ones without an article, with some overlap."""
    rows = []
    for i in range(60):
        answerable = i % 3 != 0
        top = 0.885 + (0.01 if answerable else -0.01) + (i % 7) * 0.002
        rows.append(GateRow(f"m{i}", "blind", signals([cosine("a", top)], [0.5], words=8), answerable, answerable))
    return rows


def test_the_fitted_gate_prefers_answerable_messages_and_its_line_keeps_the_precision() -> None:
    rows = _rows()
    features = ("top_cosine", "log_words")
    gate = fit_gate(rows, features, "m")
    p = [gate.probability(r.signal) for r in rows]
    assert sum(p[i] for i, r in enumerate(rows) if r.answerable) / 40 > sum(
        p[i] for i, r in enumerate(rows) if not r.answerable) / 20
    oof = out_of_fold(rows, features)
    line = choose_line(rows, oof, precision=0.9)
    f = figures(rows, oof, line)
    assert f["precision"] is not None and f["precision"] >= 0.9 and f["recall"] > 0.3


def test_a_message_without_a_candidate_over_the_low_line_is_no_match_whatever_the_gate_says() -> None:
    row = dataclasses.replace(_rows()[1], shown=False)
    assert no_match([row], [0.99], 0.5) == [True]


def test_no_line_keeps_the_precision_so_the_gate_lets_everything_through() -> None:
    rows = [GateRow(str(i), "blind", {}, True, True) for i in range(10)]
    assert choose_line(rows, [i / 10 for i in range(10)], precision=0.9) == 0.0


def test_another_kbs_blind_messages_choose_the_line_with_the_main_ones() -> None:
    # alone, the main KB's rows allow a line at 0.55; pooled with another KB whose answerable messages sit lower,
    # that line would turn two of those away too, so the pooled line is lower
    main = [GateRow(f"m{i}", "blind", {}, i >= 10, i >= 10) for i in range(20)]
    other = [GateRow(f"m{i}", "blind", {}, True, True, kb="other") for i in range(5)]
    p_main, p_other = [i / 20 for i in range(20)], [0.42, 0.47, 0.6, 0.7, 0.8]
    assert choose_line(main, p_main, precision=0.9) == 0.55
    assert choose_line(main + other, p_main + p_other, precision=0.9) == 0.47


def test_the_figures_are_given_per_kb_and_for_the_blind_messages_pooled() -> None:
    rows = [GateRow("a", "blind", {}, False, False), GateRow("b", "tweets", {}, False, False),
            GateRow("a", "blind", {}, True, True, kb="other"), GateRow("c", "blind", {}, False, False, kb="other")]
    parts = figures_by_part(rows, [0.1, 0.1, 0.2, 0.9], line=0.5)
    assert list(parts) == ["blind", "tweets", "other blind", "blind, pooled"]
    assert parts["other blind"]["precision"] == 0.0 and parts["other blind"]["right_first_shown"] == "0 of 1"
    assert parts["blind, pooled"]["messages"] == 3 and parts["blind, pooled"]["precision"] == 0.5
    assert "blind, pooled" not in figures_by_part(rows[:2], [0.1, 0.1], line=0.5)


def test_a_message_id_two_kbs_share_is_two_messages_in_the_folds() -> None:
    rows = [GateRow(f"m{i}", "blind", {"top_cosine": 0.8 + i / 100}, i % 2 == 0, False) for i in range(20)]
    pooled = rows + [dataclasses.replace(r, kb="other") for r in rows]
    assert len(out_of_fold(pooled, ("top_cosine",))) == 40
    # the other KB's rows are not all in the same folds as their namesakes (ids are prefixed with the KB's name)
    assert [fold_of(r) for r in rows] != [fold_of(r) for r in pooled[20:]]


def test_with_a_recall_floor_the_line_is_the_lowest_that_keeps_both_and_hides_fewer_right_answers() -> None:
    rows = [GateRow(f"m{i}", "blind", {}, i >= 10, i >= 10) for i in range(20)]
    p = [0.05 * (i + 1) for i in range(10)] + [0.22, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99]
    highest, lowest = choose_line(rows, p, precision=0.75), choose_line(rows, p, precision=0.75, recall=0.9)
    assert (highest, lowest) == (0.7, 0.5)
    at_highest, at_lowest = figures(rows, p, highest), figures(rows, p, lowest)
    assert at_lowest["recall"] >= 0.9 and at_lowest["precision"] >= 0.75
    assert at_highest["right_first_shown"] == "7 of 10" and at_lowest["right_first_shown"] == "9 of 10"


def test_a_recall_floor_no_line_reaches_lets_everything_through() -> None:
    rows = [GateRow(f"m{i}", "blind", {}, i >= 10, i >= 10) for i in range(20)]
    p = [0.05 * (i + 1) for i in range(10)] + [0.01 * i for i in range(10)]
    assert choose_line(rows, p, precision=0.9, recall=0.9) == 0.0
