"""The gate curve (eval.gate_curve): a draw fits its gate on the messages drawn and is judged on the others, and
with the gate off only the low line decides."""

from __future__ import annotations

import random

import pytest

from eval.answerable import GateRow
from eval.gate_curve import Draw, judge, one_draw, summary

pytestmark = pytest.mark.unit

FEATURES = ("top_cosine",)


def _rows(n: int = 300) -> list[GateRow]:
    rnd = random.Random(0)
    rows = []
    for i in range(n):
        answerable = i % 4 != 0
        cosine = rnd.gauss(0.88 if answerable else 0.80, 0.02)
        rows.append(GateRow(f"m{i}", "blind", {"top_cosine": cosine}, answerable, answerable and i % 7 != 0,
                            shown=i % 50 != 0))
    return rows


def test_a_draw_is_judged_only_on_the_messages_it_did_not_fit_on() -> None:
    rows = _rows()
    draw = one_draw(rows, FEATURES, 100, seed=1)
    assert draw.line > 0  # separable enough for a line that keeps precision 0.90 out of fold
    assert draw.precision is not None and draw.precision >= 0.8 and draw.recall > 0.5


def test_with_the_gate_off_only_messages_below_the_low_line_get_no_match() -> None:
    rows = _rows()
    off = one_draw(rows, FEATURES, 100, seed=1, gate=False)
    assert off.line == 0
    on = one_draw(rows, FEATURES, 100, seed=1)
    assert off.recall < on.recall and off.hidden <= on.hidden


def test_judge_counts_precision_recall_and_hidden_right_first_answers() -> None:
    rows = [GateRow("a", "blind", {}, False, False), GateRow("b", "blind", {}, True, True),
            GateRow("c", "blind", {}, True, True), GateRow("d", "blind", {}, False, False, shown=False)]
    assert judge(rows, [0.1, 0.2, 0.9, 0.9], 0.5) == Draw(0.5, 2 / 3, 1.0, 0.5)
    assert judge(rows, [0.9] * 4, 0.5).precision == 1.0  # only the one below the low line


def test_the_summary_gives_the_share_of_draws_whose_precision_falls_below_085() -> None:
    cell = summary([Draw(0.3, 0.9, 0.8, 0.02), Draw(0.0, 0.8, 0.4, 0.0)])
    assert cell.startswith("0.850 (1 of 2 below 0.85) | 0.600 | 1.0% (at most 2.0%) | 1")
