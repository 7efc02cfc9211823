"""Krippendorff's alpha for nominal data, with a bootstrap confidence interval over units, and the per-unit
figures a QA lead can read beside it.

A *unit* is what several coders judged (here: a topic); its values are what each coding said (here: the
article and stance each agent's reply maps to). Units with fewer than two values carry no pairs and are skipped.

    >>> round(alpha([["a", "a"], ["b", "b"], ["a", "b"]]), 3)
    0.444
    >>> alpha([["a", "a"], ["b", "b"]])
    1.0

Alpha is not always defined, or not meaningful: with no unit of two values there is nothing to compare, and when
every value is the same the expected disagreement is zero (alpha is 0/0). `alpha_with_ci` then gives `value`
None and the `reason`. Alpha computed inside one unit alone is always 0 when its values differ at all (observed
and expected disagreement are then the same number), so `unit_alpha` compares a unit's observed disagreement with
the disagreement expected over *all* units, and gives a reason instead where that says nothing:

    >>> unit_alpha(["a"], [["a"], ["b", "c"]])
    (None, 'one reply')
    >>> unit_alpha(["a", "a", "a"], [["a", "a", "a"], ["b", "c"]])
    (None, 'all replies agree')
    >>> percent_agreement(["a", "a", "b"])  # one pair of three agrees
    0.3333
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

ONE_REPLY = "one reply"
ALL_AGREE = "all replies agree"
NO_PAIRS = "no topic has two replies"
#: With one unit the expected disagreement comes from that unit alone, and alpha is 0 whatever the replies say.
ONE_TOPIC = "only one topic has two replies (alpha compares topics; it needs two)"


def _coincidences(units: Sequence[Sequence[Hashable]]) -> dict[tuple[Hashable, Hashable], float]:
    coincidence: dict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        for c, count_c in counts.items():
            for k, count_k in counts.items():
                pairs = count_c * (count_k - 1) if c == k else count_c * count_k
                coincidence[(c, k)] += pairs / (m - 1)
    return coincidence


def _margins(coincidence: dict[tuple[Hashable, Hashable], float]) -> dict[Hashable, float]:
    n_c: dict[Hashable, float] = defaultdict(float)
    for (c, _k), v in coincidence.items():
        n_c[c] += v
    return n_c


def expected_disagreement(units: Sequence[Sequence[Hashable]]) -> float | None:
    """D_e: the share of pairs of values, drawn from all pairable values, that differ; None with under 2 values."""
    n_c = _margins(_coincidences(units))
    n = sum(n_c.values())
    if n <= 1:
        return None
    return (n * n - sum(v * v for v in n_c.values())) / (n * (n - 1))


def alpha(units: Sequence[Sequence[Hashable]]) -> float:
    """Nominal alpha = 1 - D_o / D_e from the coincidence matrix (Krippendorff 2011, "Computing alpha"); NaN
    when no unit has two values, 1.0 when every value is the same (`alpha_with_ci` tells both apart)."""
    coincidence = _coincidences(units)
    n_c = _margins(coincidence)
    n = sum(n_c.values())
    if n <= 1:
        return float("nan")
    observed = sum(v for (c, k), v in coincidence.items() if c != k)
    expected = (n * n - sum(v * v for v in n_c.values())) / (n - 1)
    if expected == 0:
        return 1.0  # every value the same: nothing to disagree about
    return 1.0 - observed / expected


def alpha_or_reason(units: Sequence[Sequence[Hashable]]) -> tuple[float | None, str | None]:
    """(alpha, None) where alpha is defined and says something; (None, why) where it is not.

        >>> alpha_or_reason([["a", "b", "b"]])
        (None, 'only one topic has two replies (alpha compares topics; it needs two)')
    """
    usable = [u for u in units if len(u) >= 2]
    if not usable:
        return None, NO_PAIRS
    if len({v for u in usable for v in u}) == 1:
        return None, ALL_AGREE
    if len(usable) == 1:
        return None, ONE_TOPIC
    return alpha(usable), None


def _agreeing(values: Sequence[Hashable]) -> float:
    m = len(values)
    return sum(c * (c - 1) for c in Counter(values).values()) / (m * (m - 1))


def percent_agreement(values: Sequence[Hashable]) -> float | None:
    """Share of the pairs of values within one unit that are equal (None for fewer than two values)."""
    return round(_agreeing(values), 4) if len(values) >= 2 else None


def pooled_agreement(units: Mapping[str, Sequence[Hashable]]) -> float | None:
    """Percent agreement over all topics: agreeing pairs of replies within a topic, over all such pairs."""
    pairs = sum(len(v) * (len(v) - 1) for v in units.values())
    if not pairs:
        return None
    agreeing = sum(c * (c - 1) for v in units.values() for c in Counter(v).values())
    return round(agreeing / pairs, 4)


def unit_alpha(values: Sequence[Hashable], units: Sequence[Sequence[Hashable]]) -> tuple[float | None, str | None]:
    """Alpha of one unit against the expected disagreement of all `units`: 1 - D_o(unit) / D_e(all). 1 is no
    disagreement, 0 as much as chance, below 0 more than chance. (None, why) where that is not meaningful.

    The overall alpha is the mean of these, weighted by each unit's number of values (a unit where all agree
    counting 1): a topic's figure says how much it pulls the whole up or down."""
    if len(values) < 2:
        return None, ONE_REPLY
    if len(set(values)) == 1:
        return None, ALL_AGREE
    expected = expected_disagreement(units)
    if not expected:
        return None, ALL_AGREE
    observed = 1.0 - _agreeing(values)  # the unit's D_o: the share of its pairs that differ
    return round(1.0 - observed / expected, 4), None


def alpha_with_ci(units: Sequence[Sequence[Hashable]], *, bootstrap: int = 1000, level: float = 0.95,
                  seed: int = 7) -> dict[str, Any]:
    """Alpha with a percentile bootstrap interval from resampling whole units (seeded: repeatable). `value` is
    None, with the `reason`, where alpha is not defined or not meaningful; the result is always valid JSON."""
    usable = [list(u) for u in units if len(u) >= 2]
    value, reason = alpha_or_reason(usable)
    out: dict[str, Any] = {"value": None if value is None else round(value, 4), "reason": reason,
                           "units": len(usable), "values": sum(len(u) for u in usable), "ci": None}
    if value is not None and bootstrap and len(usable) >= 2:
        rng = random.Random(seed)
        samples = sorted(a for a in (alpha([rng.choice(usable) for _ in usable]) for _ in range(bootstrap))
                         if a == a)  # drop NaN draws
        lo = samples[int((1 - level) / 2 * len(samples))]
        hi = samples[min(len(samples) - 1, int((1 + level) / 2 * len(samples)))]
        out["ci"] = [round(lo, 4), round(hi, 4)]
    return out
