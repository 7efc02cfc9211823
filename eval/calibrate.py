"""Calibrate the confidence tiers on the golden messages instead of guessing them.

- `low` (below it: no match) maximises the share of messages handled right: a no-match message scores below
  it, an answerable one scores at or above it with its article among the first three suggestions.
- `medium` and `high` are the lowest scores at which the top suggestion is right for at least 80% and 95% of
  the messages scoring that high (precision), so `high` means near-certain, as tiplines use it.

    >>> t = calibrate([Scored(0.9, True, True), Scored(0.2, False, False)], high=0.95, medium=0.8)
    >>> (t.low, t.high)
    (0.9, 0.9)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scored:
    score: float  # the top candidate's score
    top_correct: bool  # the top candidate is the expected article
    answerable: bool  # an article is expected at all
    in_top3: bool = False  # the expected article is among the first three candidates


@dataclass(frozen=True)
class Thresholds:
    low: float
    medium: float
    high: float
    low_accuracy: float
    medium_precision: float
    high_precision: float
    high_coverage: float  # share of answerable messages that reach `high`


def _precision_from(items: Sequence[Scored], t: float) -> tuple[float, int]:
    above = [i for i in items if i.score >= t]
    return (sum(i.top_correct for i in above) / len(above) if above else 1.0), len(above)


def _lowest_with_precision(items: Sequence[Scored], target: float, floor: float, min_support: int) -> float:
    """Lowest threshold >= floor from which precision stays at or above target all the way up."""
    candidates = sorted({round(i.score, 4) for i in items if i.score >= floor})
    lowest = None
    for t in reversed(candidates):
        precision, support = _precision_from(items, t)
        if support < min_support:
            continue
        if precision < target:
            break
        lowest = t
    return lowest if lowest is not None else (candidates[-1] if candidates else floor)


def calibrate(items: Sequence[Scored], *, high: float = 0.95, medium: float = 0.80,
              min_support: int = 1) -> Thresholds:
    candidates = sorted({round(i.score, 4) for i in items})
    best_low, best_acc = 0.0, -1.0
    for t in candidates:
        right = sum((i.score < t) if not i.answerable else (i.score >= t and (i.in_top3 or i.top_correct))
                    for i in items)
        acc = right / len(items)
        if acc > best_acc:
            best_low, best_acc = t, acc
    t_medium = max(best_low, _lowest_with_precision(items, medium, best_low, min_support))
    t_high = max(t_medium, _lowest_with_precision(items, high, t_medium, min_support))
    answerable = [i for i in items if i.answerable]
    return Thresholds(
        low=best_low, medium=t_medium, high=t_high, low_accuracy=round(best_acc, 4),
        medium_precision=round(_precision_from(items, t_medium)[0], 4),
        high_precision=round(_precision_from(items, t_high)[0], 4),
        high_coverage=round(sum(i.score >= t_high for i in answerable) / len(answerable), 4) if answerable else 0.0,
    )
