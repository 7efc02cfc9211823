"""The learned metric measured in the workbench (issue 24, eval.metric_fit): its fit must learn what the identity
gets wrong and stay near the identity when told to, and the axis goes out before the map."""

from __future__ import annotations

import numpy as np
import pytest

from eval.metric_fit import Metric, Pairs, fit_metric

pytestmark = pytest.mark.unit


def _confusable() -> Pairs:
    """Two articles: article 0 with a chunk on axis 0 and one mostly on axis 2, article 1 with one on axis 1. Every
    message leans towards article 1 along axis 1 but belongs to article 0, which only axis 2 tells apart."""
    rng = np.random.default_rng(3)
    chunks = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.3, 0.0, 0.95]])
    messages = np.abs(rng.normal([0.45, 0.7, 0.4], 0.03, size=(20, 3)))
    right = np.zeros((20, 2), bool)
    right[:, 0] = True
    return Pairs(messages, chunks, np.array([0, 1, 0]), right)


def _first(pairs: Pairs, matrix: np.ndarray) -> np.ndarray:
    m = Metric(matrix, None)
    cosines = m.apply(pairs.messages, []) @ m.apply(pairs.chunks, []).T
    best = np.full((len(cosines), pairs.right.shape[1]), -2.0)
    for j, a in enumerate(pairs.owner):
        best[:, a] = np.maximum(best[:, a], cosines[:, j])
    return best.argmax(axis=1)


def test_the_fitted_metric_puts_first_the_article_the_identity_ranks_second() -> None:
    pairs = _confusable()
    assert (_first(pairs, np.eye(3)) == 1).all()
    assert (_first(pairs, fit_metric([pairs], l2=1e-4)) == 0).all()


def test_a_large_penalty_keeps_the_metric_at_the_identity() -> None:
    assert np.abs(fit_metric([_confusable()], l2=1e-4) - np.eye(3)).max() > 0.1
    assert np.abs(fit_metric([_confusable()], l2=1e6) - np.eye(3)).max() < 1e-4


def test_the_metric_projects_the_axis_out_before_mapping() -> None:
    axis = np.array([0.0, 1.0, 0.0], np.float32)
    out = Metric(np.eye(3), axis).apply(np.array([[0.6, 0.8, 0.0]]), ["nl"])
    assert np.allclose(out, [[1.0, 0.0, 0.0]], atol=1e-6)
