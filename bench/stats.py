"""Timing helpers for `kb bench`: medians and tails of repeated calls, baseline and ours interleaved.

    >>> paired({"a": lambda m: None, "b": lambda m: None}, ["x", "y"])["a"]["n"]
    2
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def timings(fn: Callable[[], object], n: int, warmup: int = 3) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 3),
            "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 3), "n": n}


def per_item(fn: Callable[[str], object], items: Sequence[str]) -> dict[str, float]:
    return paired({"only": fn}, items)["only"]


def paired(fns: dict[str, Callable[[str], object]], items: Sequence[str]) -> dict[str, dict[str, float]]:
    """Time every function on every item, interleaved (a, b, then b, a on the next item), so that a burst of load
    from another process hits both sides alike."""
    names = list(fns)
    for item in items[:3]:
        for name in names:
            fns[name](item)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i, item in enumerate(items):
        for name in (names if i % 2 == 0 else names[::-1]):
            t = time.perf_counter()
            fns[name](item)
            samples[name].append((time.perf_counter() - t) * 1000)
    return {name: summary(values) for name, values in samples.items()}


def summary(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {"p50_ms": round(statistics.median(samples), 3),
            "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 3),
            "p99_ms": round(samples[min(len(samples) - 1, int(0.99 * len(samples)))], 3), "n": len(samples)}
