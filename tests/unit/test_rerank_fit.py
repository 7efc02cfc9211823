"""The fits of `kb eval` reach the minimum of their penalised loss also where a full Newton step overshoots
(eval.newton): the re-ranker's on heads whose last candidates stand far below the first (large cosine gaps), as a
head of eight candidates has (undamped, the fit below ended at w = -500, loss 5 million, and put wrong candidates
first), and the calibration's and the gate's logistic fit on data that is almost separable."""

from __future__ import annotations

import numpy as np
import pytest

from eval.calibrate import fit_logistic
from eval.rerank import _penalised_loss, fit_conditional_logit

pytestmark = pytest.mark.unit

CLEAR = np.array([[0.0], [-50.0], [-50.0], [-50.0], [-50.0], [-50.0], [-50.0], [-50.0]])
#: The right candidate second, one hundredth of a gap below the first, the third far below.
CLOSE = np.array([[0.0], [-50.0], [-1.0], [-60.0], [-50.0], [-50.0], [-50.0], [-50.0]])


def test_the_fit_ends_at_the_minimum_where_a_full_newton_step_overshoots() -> None:
    x, right = [CLEAR] * 200 + [CLOSE] * 10, [0] * 200 + [1] * 10
    w = fit_conditional_logit(x, right)
    groups = list(zip(x, right, strict=True))
    loss = _penalised_loss(groups, w, 1.0)[0]
    assert all(loss <= _penalised_loss(groups, w + d, 1.0)[0] for d in (-1e-3, 1e-3))  # a minimum ...
    assert 0 < float(w[0]) < 1 and loss < 100  # ... the right one: the clear heads keep their first candidate


def test_where_full_steps_converge_the_weights_are_plain_newtons() -> None:
    """Two candidates, one feature: the fit lands where a grid of the loss (steps of 0.01) has its minimum."""
    x, right = [np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]]), np.array([[1.0], [0.0]])], [0, 1, 0]
    w = float(fit_conditional_logit(x, right, l2=0.1)[0])
    grid = np.linspace(-5, 5, 100_001)
    groups = list(zip(x, right, strict=True))
    best = grid[int(np.argmin([_penalised_loss(groups, np.array([g]), 0.1)[0] for g in grid[::100]])) * 100]
    assert abs(w - best) < 0.02


def test_the_logistic_fit_ends_at_its_minimum_on_almost_separable_data() -> None:
    x = np.array([[-2.0], [-1.5], [-1.0], [-0.1], [0.1], [1.0], [1.5], [2.0]])
    y = np.array([0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0])

    def loss(w: np.ndarray) -> float:
        logits = w[0] + x[:, 0] * w[1]
        return float(np.sum(np.logaddexp(0.0, logits) - y * logits)) + 0.01 * float(w[1] ** 2) / 2

    w = fit_logistic(x, y)
    assert w[1] > 0 and all(loss(w) <= loss(w + d) for d in np.eye(2) * 1e-3) and \
        all(loss(w) <= loss(w - d) for d in np.eye(2) * 1e-3)
