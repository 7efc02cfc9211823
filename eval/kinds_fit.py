"""Fitting the message-kind model (kb.kinds.KindModel) on the dev messages: a multinomial logistic regression over
[query vector, surface signals], its regularisation and class weighting chosen by cross-validation on dev, and the
rules' dev precision recorded beside it. Never reads a test split.

    >>> x = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.1]])
    >>> w = fit_softmax(x, np.array([0, 0, 1, 1]), classes=2, l2=0.01)
    >>> softmax_rows(x, w).argmax(axis=1).tolist()
    [0, 0, 1, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from eval.metrics import fold_of as fold_of_key
from kb.kinds import Kind, KindModel, advert, insult

KINDS = tuple(k.value for k in Kind)
#: Searched by cross-validation on dev: L2 strength on standardised features, and how far classes are weighted
#: towards balance (0: as they come, 1: every kind counts the same).
L2_GRID = (0.003, 0.01, 0.03, 0.1)
BALANCE_GRID = (0.0, 0.5, 1.0)
FOLDS = 5


@dataclass(frozen=True)
class Fitted:
    model: KindModel
    l2: float
    balance: float
    cv_accuracy: float
    cv_macro_f1: float


def softmax_rows(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    logits = w[:, 0] + x @ w[:, 1:].T
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def fit_softmax(x: np.ndarray, y: np.ndarray, *, classes: int, l2: float, sample_weight: np.ndarray | None = None,
                steps: int = 300) -> np.ndarray:
    """Weights (classes x (1 + features)) minimising the weighted cross-entropy plus `l2` * |w|^2 (no penalty on
    the intercepts), by Nesterov-accelerated gradient descent on standardised `x`. Deterministic. One BLAS thread:
    these products are small, and several threads contending for shared cores made a fit ten times slower."""
    with threadpool_limits(1):
        return _descend(x, y, classes=classes, l2=l2, sample_weight=sample_weight, steps=steps)


def _descend(x: np.ndarray, y: np.ndarray, *, classes: int, l2: float, sample_weight: np.ndarray | None,
             steps: int) -> np.ndarray:
    n, d = x.shape
    sw = np.ones(n) if sample_weight is None else sample_weight
    sw = sw / sw.sum()
    onehot = np.eye(classes)[y]
    w = np.zeros((classes, d + 1))
    velocity = np.zeros_like(w)
    # Step from the gradient's Lipschitz bound: largest eigenvalue of the weighted covariance, plus the penalty.
    lipschitz = float(np.linalg.eigvalsh((x * sw[:, None]).T @ x).max()) + 1.0 + 2 * l2
    rate = 1.0 / lipschitz
    for _ in range(steps):
        ahead = w + 0.9 * velocity
        p = softmax_rows(x, ahead)
        g = ((p - onehot) * sw[:, None]).T @ np.c_[np.ones(n), x]
        g[:, 1:] += 2 * l2 * ahead[:, 1:]
        velocity = 0.9 * velocity - rate * g
        w = w + velocity
    return w


def class_weights(y: np.ndarray, classes: int, balance: float) -> np.ndarray:
    counts = np.bincount(y, minlength=classes).astype(float)
    per_class = np.where(counts > 0, (counts.sum() / np.maximum(counts, 1)) ** balance, 0.0)
    return np.asarray(per_class[y])


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-9, scale, 1.0)


def fold_of(message_id: str) -> int:
    """A message's cross-validation fold, from its id alone (stable across runs and machines)."""
    return fold_of_key(f"kinds-fold-{message_id}", FOLDS)


def macro_f1(y: np.ndarray, predicted: np.ndarray, classes: int) -> float:
    scores = []
    for c in range(classes):
        tp = float(np.sum((predicted == c) & (y == c)))
        fp = float(np.sum((predicted == c) & (y != c)))
        fn = float(np.sum((predicted != c) & (y == c)))
        if tp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


def out_of_fold(x: np.ndarray, y: np.ndarray, ids: Sequence[str], *, l2: float, balance: float) -> np.ndarray:
    """Each message's probabilities from a model fitted on the other folds of dev."""
    folds = np.array([fold_of(i) for i in ids])
    out = np.zeros((len(y), len(KINDS)))
    for f in range(FOLDS):
        train, held = folds != f, folds == f
        mean, scale = standardise(x[train])
        w = fit_softmax((x[train] - mean) / scale, y[train], classes=len(KINDS), l2=l2,
                        sample_weight=class_weights(y[train], len(KINDS), balance))
        out[held] = softmax_rows((x[held] - mean) / scale, w)
    return out


def rule_precision(raws: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    """How often each rule was right on the messages it fired on (dev), with one made-up miss so that a rule
    never claims certainty from a small sample."""
    out = {}
    for name, rule, kind in (("insult", insult, Kind.ABUSE), ("advert", advert, Kind.SPAM)):
        fired = [label for raw, label in zip(raws, labels, strict=True) if rule(raw)]
        out[name] = round(sum(label == kind for label in fired) / (len(fired) + 1), 4) if fired else 0.5
    return out


def ruled_kinds(raws: Sequence[str]) -> np.ndarray:
    """The kind index each rule decides (abuse before spam, as kb.kinds does), -1 where no rule fires."""
    return np.array([KINDS.index(Kind.ABUSE) if insult(r) else KINDS.index(Kind.SPAM) if advert(r) else -1
                     for r in raws])


def fit_kind_model(x: np.ndarray, labels: Sequence[str], ids: Sequence[str], raws: Sequence[str], *,
                   model_id: str, fitted_on: str) -> Fitted:
    """Choose L2 and class balance by cross-validated macro-F1 on dev, counting the decisions as the service makes
    them (the rules first), then fit on all dev messages. The model sees the rules' messages too: their surface
    signals teach it what abuse and spam look like where the rules do not fire."""
    y = np.array([KINDS.index(label) for label in labels])
    ruled = ruled_kinds(raws)
    best: tuple[float, float, float, float] | None = None
    for l2 in L2_GRID:
        for balance in BALANCE_GRID:
            predicted = np.where(ruled >= 0, ruled, out_of_fold(x, y, ids, l2=l2, balance=balance).argmax(axis=1))
            f1 = macro_f1(y, predicted, len(KINDS))
            accuracy = float(np.mean(predicted == y))
            if best is None or f1 > best[0]:
                best = (f1, accuracy, l2, balance)
    assert best is not None
    f1, accuracy, l2, balance = best
    mean, scale = standardise(x)
    w = fit_softmax((x - mean) / scale, y, classes=len(KINDS), l2=l2,
                    sample_weight=class_weights(y, len(KINDS), balance))
    model = KindModel(model_id=model_id, kinds=KINDS, mean=tuple(map(float, mean)), scale=tuple(map(float, scale)),
                      weights=tuple(tuple(map(float, row)) for row in w), rule_precision=rule_precision(raws, labels),
                      fitted_with={"l2": l2, "balance": balance},
                      fitted_on=f"{fitted_on}; L2 {l2}, class balance {balance} (5-fold CV on dev: macro-F1 "
                                f"{f1:.3f}, accuracy {accuracy:.3f})")
    return Fitted(model, l2, balance, accuracy, f1)


def cross_validated(x: np.ndarray, labels: Sequence[str], ids: Sequence[str], raws: Sequence[str],
                    fitted_with: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Dev figures that do not flatter: each dev message decided by the rules, or else by a model fitted (with the
    shipped model's settings) on the other folds. Returns the decided kind index and its probability per message;
    a rule's probability is 1 here (its dev precision is what the shipped model reports)."""
    y = np.array([KINDS.index(label) for label in labels])
    p = out_of_fold(x, y, ids, l2=fitted_with.get("l2", L2_GRID[1]), balance=fitted_with.get("balance", 0.5))
    ruled = ruled_kinds(raws)
    decided = np.where(ruled >= 0, ruled, p.argmax(axis=1))
    probability = np.where(ruled >= 0, 1.0, p.max(axis=1))
    return decided, probability
