"""Retrieval and calibration metrics as plain functions over ranked ids: easy to check by hand.

    >>> reciprocal_rank(["a", "b", "c"], "b")
    0.5
    >>> average_precision_at_k(["a", "x", "b"], {"a", "b"}, k=5)
    0.8333333333333333
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def fold_of(key: str, folds: int) -> int:
    """The cross-validation fold of `key` (a message id, or one prefixed by its set): from the key alone, so stable
    across runs, machines and the order of the data.

        >>> fold_of("dev-001", 5) == fold_of("dev-001", 5) < 5
        True
    """
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % folds


def hit_at(ranked: Sequence[str], expected: str, k: int) -> bool:
    return expected in ranked[:k]


def reciprocal_rank(ranked: Sequence[str], expected: str, k: int | None = None) -> float:
    items = ranked if k is None else ranked[:k]
    for i, item in enumerate(items, 1):
        if item == expected:
            return 1.0 / i
    return 0.0


def average_precision_at_k(ranked: Sequence[str], relevant: set[str], k: int = 5) -> float:
    """CheckThat! 2020 Task 2 AP@k: precision at each relevant hit in the top k, over min(|relevant|, k)."""
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for i, item in enumerate(ranked[:k], 1):
        if item in relevant:
            hits += 1
            total += hits / i
    return total / min(len(relevant), k)


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def precision_recall(predicted: Sequence[bool], actual: Sequence[bool]) -> tuple[float, float]:
    """Precision and recall of a yes/no prediction (e.g. `no_match`) against the truth."""
    tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
    fp = sum(p and not a for p, a in zip(predicted, actual, strict=True))
    fn = sum(a and not p for p, a in zip(predicted, actual, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def measured(values: Sequence[float]) -> float | None:
    """The mean, or None when there is nothing to measure (a rate over no items is unknown, not 0).

        >>> measured([1.0, 0.0]), measured([])
        (0.5, None)
    """
    return sum(values) / len(values) if values else None


def wilson(right: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The 95% Wilson interval of a rate of `right` in `n`, or None over nothing: how far a figure on one draw of
    messages can be from the same pipeline's figure on another draw (one message in 128 moves hit@1 by 0.008; the
    interval of 0.85 there is about 0.78-0.90).

        >>> [round(x, 3) for x in wilson(109, 128)]
        [0.78, 0.903]
        >>> wilson(0, 0) is None
        True
    """
    if n == 0:
        return None
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
