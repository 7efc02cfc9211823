"""Krippendorff's alpha for nominal data, with a bootstrap confidence interval over units.

A *unit* is what several coders judged (here: a topic); its values are what each coding said (here: the
article and stance each agent's reply maps to). Units with fewer than two values carry no pairs and are skipped.

    >>> round(alpha([["a", "a"], ["b", "b"], ["a", "b"]]), 3)
    0.444
    >>> alpha([["a", "a"], ["b", "b"]])
    1.0
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from typing import Any


def alpha(units: Sequence[Sequence[Hashable]]) -> float:
    """Nominal alpha = 1 - D_o / D_e from the coincidence matrix (Krippendorff 2011, "Computing alpha")."""
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
    n_c: dict[Hashable, float] = defaultdict(float)
    for (c, _k), v in coincidence.items():
        n_c[c] += v
    n = sum(n_c.values())
    if n <= 1:
        return float("nan")
    observed = sum(v for (c, k), v in coincidence.items() if c != k)
    expected = (n * n - sum(v * v for v in n_c.values())) / (n - 1)
    if expected == 0:
        return 1.0  # every value the same: nothing to disagree about
    return 1.0 - observed / expected


def alpha_with_ci(units: Sequence[Sequence[Hashable]], *, bootstrap: int = 1000, level: float = 0.95,
                  seed: int = 7) -> dict[str, Any]:
    """Alpha with a percentile bootstrap interval from resampling whole units (seeded: repeatable)."""
    usable = [list(u) for u in units if len(u) >= 2]
    value = alpha(usable)
    out: dict[str, Any] = {"value": round(value, 4), "units": len(usable),
                           "values": sum(len(u) for u in usable), "ci": None}
    if bootstrap and len(usable) >= 2:
        rng = random.Random(seed)
        samples = sorted(a for a in (alpha([rng.choice(usable) for _ in usable]) for _ in range(bootstrap))
                         if a == a)  # drop NaN draws
        lo = samples[int((1 - level) / 2 * len(samples))]
        hi = samples[min(len(samples) - 1, int((1 + level) / 2 * len(samples)))]
        out["ci"] = [round(lo, 4), round(hi, 4)]
    return out
