"""Rising subjects: is an article's (topic's, group's) count this period unusually high against its own recent
history? Pure statistics, no database and no model.

The test compares two Poisson rates, conditioned on their sum (the exact conditional test): with `x` messages
about the subject this period out of `e` in all, and `h` of `E` in the trailing history periods, under "no more
than `min_ratio` times its usual rate" `x` given `x + h` is binomial with probability
`min_ratio·e / (min_ratio·e + E)`. So

- the rate is measured against the total volume: a busy Monday, a quiet Sunday or a year of growth does not make
  every subject "rise", and a period still in progress is compared fairly;
- the null hypothesis is "at most `min_ratio` (1.5) times as frequent as usual", not "the same", so a slow drift
  and the ordinary noise of large counts stay quiet however many messages there are;
- a small count can never be significant: one extra message never surges, and `min_count` (10) makes it explicit;
- the p-values of all subjects tested in one period are corrected together (Holm), so the chance that any of a few
  hundred ordinary subjects is flagged in a period stays under `alpha` (1%).

    >>> rule = RisingRule()
    >>> tests = rate_tests({"5g": 60, "suiker": 11}, {"5g": 40, "suiker": 35}, exposure=1000, history_exposure=4000,
    ...                    rule=rule)
    >>> [(t.subject, t.rising, round(t.ratio, 1)) for t in tests]
    [('5g', True, 6.0), ('suiker', False, 1.3)]
    >>> round(binomial_sf(3, 3, 0.5), 6)
    0.125
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class RisingRule:
    """When a subject counts as rising (the defaults are the service's)."""

    min_count: int = 10  # messages this period, at least
    min_ratio: float = 1.5  # at least this many times its usual share (the null hypothesis is "at most this")
    alpha: float = 0.01  # family-wise error per period and kind of subject (Holm)


@dataclass(frozen=True)
class RateTest(Generic[K]):
    """One subject in one period against its trailing history."""

    subject: K
    count: int  # messages this period
    history: int  # messages in the history periods
    expected: float  # what its usual share of this period's volume would have been
    p_value: float
    p_adjusted: float
    rising: bool

    @property
    def ratio(self) -> float:
        """Count over expected (inf for a subject that had no messages before)."""
        return self.count / self.expected if self.expected > 0 else math.inf


def binomial_sf(x: int, n: int, p: float) -> float:
    """P(X >= x) for X ~ Binomial(n, p), exact (summed in log space from the tail inwards, to 1e-15).

        >>> round(binomial_sf(60, 100, 0.5), 6)
        0.028444
    """
    if x <= 0:
        return 1.0
    if x > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    if x <= n * p:  # the mass below x is the smaller tail: sum that and subtract (both sums run outwards)
        return max(0.0, 1.0 - _sum_down(x - 1, n, p))
    return min(1.0, _sum_up(x, n, p))


def _log_pmf(j: int, n: int, p: float) -> float:
    return (math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1)
            + j * math.log(p) + (n - j) * math.log1p(-p))


def _sum_up(x: int, n: int, p: float) -> float:
    """Sum of P(X = j) for j >= x, x above the mean: the terms only shrink from the first."""
    term = math.exp(_log_pmf(x, n, p))
    total, odds = term, p / (1 - p)
    for j in range(x, n):
        term *= (n - j) / (j + 1) * odds
        total += term
        if term <= total * 1e-16:
            break
    return total


def _sum_down(x: int, n: int, p: float) -> float:
    """Sum of P(X = j) for j <= x, x below the mean."""
    term = math.exp(_log_pmf(x, n, p))
    total, odds = term, (1 - p) / p
    for j in range(x, 0, -1):
        term *= j / (n - j + 1) * odds
        total += term
        if term <= total * 1e-16:
            break
    return total


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: reject where the adjusted value is under alpha (family-wise error control).

        >>> holm([0.01, 0.04, 0.03])
        [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    m = len(p_values)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = round(running, 15)
    return adjusted


def rate_tests(current: Mapping[K, int], history: Mapping[K, int], *, exposure: int, history_exposure: int,
               rule: RisingRule) -> list[RateTest[K]]:
    """Every subject seen this period or before, tested and corrected together; rising ones first, then by count.

    `exposure` is this period's total volume, `history_exposure` the history periods' (the subjects' counts are
    part of them). Without any history there is nothing to rise against: no subject is rising."""
    subjects = sorted({*current, *history}, key=str)
    raw: list[tuple[K, int, int, float, float]] = []
    for s in subjects:
        x, h = int(current.get(s, 0)), int(history.get(s, 0))
        expected = h * exposure / history_exposure if history_exposure > 0 else 0.0
        if history_exposure <= 0 or exposure <= 0:
            p = 1.0
        else:
            weight = rule.min_ratio * exposure
            p = binomial_sf(x, x + h, weight / (weight + history_exposure))
        raw.append((s, x, h, expected, p))
    adjusted = holm([r[4] for r in raw])
    out = [RateTest(s, x, h, round(e, 3), p, q, history_exposure > 0 and x >= rule.min_count and q < rule.alpha)
           for (s, x, h, e, p), q in zip(raw, adjusted, strict=True)]
    return sorted(out, key=lambda t: (not t.rising, -t.count, str(t.subject)))


def rate_tests_by_period(series: Mapping[K, Sequence[int]], exposures: Sequence[int], *, first: int, history: int,
                     rule: RisingRule) -> list[list[RateTest[K]]]:
    """`rate_tests` for each period from index `first` on, each against the `history` periods before it.

    `series` holds each subject's count per period (all as long as `exposures`), oldest first.

        >>> per = rate_tests_by_period({"a": [5, 5, 5, 40]}, [100, 100, 100, 130], first=3, history=3,
        ...                        rule=RisingRule())
        >>> [(t.subject, t.count, t.rising) for t in per[0]]
        [('a', 40, True)]
    """
    out = []
    for i in range(first, len(exposures)):
        lo = max(0, i - history)
        current = {s: counts[i] for s, counts in series.items() if counts[i]}
        past = {s: sum(counts[lo:i]) for s, counts in series.items() if sum(counts[lo:i])}
        out.append(rate_tests(current, past, exposure=exposures[i], history_exposure=sum(exposures[lo:i]),
                              rule=rule))
    return out
