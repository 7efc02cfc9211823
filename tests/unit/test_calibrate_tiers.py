"""`kb eval calibrate`'s proposed thresholds (eval.calibrate.propose) on made-up probabilities: every tier exists,
and `medium` is drawn where the medium tier itself, not the tiers above it, is right 80% of the time."""

from __future__ import annotations

import pytest

from eval.calibrate import Row, medium_line, propose

pytestmark = pytest.mark.unit


def _rows() -> tuple[list[Row], list[float]]:
    """A dev set shaped like the real one: most answerable messages high and right 96% of the time; a middle band
    right 85%; a lower band right a third of the time; messages without an article low."""
    rows: list[Row] = []
    probabilities: list[float] = []

    def add(n: int, lo: float, hi: float, wrong: int, answerable: bool = True) -> None:
        """n top suggestions spread over [lo, hi); `wrong` of every 20 are not the expected article."""
        for i in range(n):
            rows.append(Row(f"m{len(rows)}", 0, (), answerable and i % 20 >= wrong, answerable, "golden"))
            probabilities.append(lo + (hi - lo) * i / n)

    add(300, 0.86, 0.999, 1)
    add(100, 0.65, 0.86, 3)
    add(60, 0.20, 0.65, 13)
    add(80, 0.01, 0.19, 0, answerable=False)
    return rows, probabilities


def test_the_proposal_has_a_low_tier_and_a_medium_tier_right_at_least_80_percent() -> None:
    rows, probabilities = _rows()
    t = propose(rows, probabilities)
    assert t.low < t.medium < t.high
    assert 0.5 <= t.medium <= 0.65, t  # near where the 85% band starts, not down at the no-match line
    assert t.medium_precision >= 0.80 and t.low_precision < 0.5
    assert t.tiers is not None and min(t.tiers.values()) > 0


def test_the_medium_line_is_the_tiers_own_precision_not_lifted_by_the_high_ones() -> None:
    rows = [Row(str(i), 0, (), right=i % 2 == 0, answerable=True, source="golden") for i in range(20)]
    shown = [(0.3 + i / 100, r) for i, r in enumerate(rows)]  # 0.30-0.49, right half of the time
    shown += [(0.95, Row("h", 0, (), True, True, "golden"))] * 200  # many right high ones above
    grid = sorted({p for p, _ in shown})
    assert medium_line(shown, grid, low=0.3, high=0.9, target=0.8) == 0.9  # no band below high reaches 80%
