"""Damped Newton minimisation for the small convex fits of `kb eval` (the calibration, the answerability gate and the
re-ranker: a handful of weights each, so no optimisation library is needed).

A full Newton step from far away can overshoot and oscillate: where a few candidates or messages stand far from
the rest, plain steps ended at weights in the hundreds. Each step is halved until the loss goes down; near the
minimum the full step is taken, so where plain Newton converged the result is the same.

    >>> import numpy as np
    >>> parabola = lambda w: (float((w - 3) @ (w - 3)), 2 * (w - 3), 2 * np.eye(1))
    >>> minimise(parabola, np.zeros(1))
    array([3.])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: loss, gradient and Hessian at w
Objective = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


def minimise(objective: Objective, w: np.ndarray, *, steps: int = 100, tolerance: float = 1e-9,
             ridge: float = 0.0) -> np.ndarray:
    """The minimiser of a convex `objective` from `w`, by Newton steps halved until the loss goes down; stops
    when a step moves no weight more than `tolerance`. `ridge` is added to the Hessian's diagonal for the solve
    only (a numerical guard, not part of the objective)."""
    loss, gradient, hessian = objective(w)
    for _ in range(steps):
        step = np.linalg.solve(hessian + ridge * np.eye(len(w)), gradient)
        scale = 1.0
        while True:
            trial = w - scale * step
            tried, trial_gradient, trial_hessian = objective(trial)
            if tried <= loss or scale <= 1e-10:
                break
            scale /= 2
        w, loss, gradient, hessian = trial, tried, trial_gradient, trial_hessian
        if float(np.abs(scale * step).max()) < tolerance:
            break
    return w
