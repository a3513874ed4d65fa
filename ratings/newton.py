"""Damped Newton maximisation shared by the Bradley-Terry, tie-model and style fits.

Each step solves ``(H + R + eps I) s = g`` for minus the Hessian ``H`` and the
gradient ``g`` of a concave objective ``f``, where ``R`` is a constant ridge
(a prior's precision and/or the projector onto the Hessian's null space, which
fixes the ratings' free shift) and ``eps = 1e-12 max(1, scale)`` keeps a
singular Laplacian solvable.  The step is halved until ``f`` does not drop by
more than rounding (a backtracking line search; Nocedal & Wright 2006,
"Numerical Optimization", ch. 3), and the iteration stops when no coordinate
moves by more than ``tol``.

Several problems of the same size can be solved at once (``x`` of shape
``(b, n)``, e.g. bootstrap replicates): each keeps its own step length and
leaves the batch when it has converged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ratings.typing import BoolArray, FloatArray, IntArray

MAX_NEWTON_ITER = 100
STEP_TOL = 1e-10
MAX_HALVINGS = 40

Value = Callable[[FloatArray, IntArray], FloatArray]
"""``value(x, rows)``: the objective of problems ``rows`` at ``x`` (r, n), shape (r,)."""
Derivatives = Callable[[FloatArray, IntArray], tuple[FloatArray, FloatArray]]
"""``derivatives(x, rows)``: gradient (r, n) and minus the Hessian (r, n, n)."""


def maximize(
    value: Value,
    derivatives: Derivatives,
    x0: FloatArray,
    *,
    ridge: FloatArray,
    scale: float = 1.0,
    max_iter: int = MAX_NEWTON_ITER,
    max_halvings: int = MAX_HALVINGS,
    tol: float = STEP_TOL,
) -> tuple[FloatArray, BoolArray]:
    """Maximise concave objectives by damped Newton steps.

    Parameters
    ----------
    value, derivatives : callable
        See :data:`Value` and :data:`Derivatives`; ``rows`` indexes the
        problems of the batch still iterating.  ``derivatives`` is only ever
        called at the point ``value`` was last called at (the accepted one),
        so it may reuse work cached by ``value``.
    x0 : ndarray, shape (b, n)
        Starting points.
    ridge : ndarray, shape (n, n)
        Added to minus the Hessian when solving for the step.
    scale : float
        Size of the data (e.g. the total weight): sets the jitter.
    max_halvings : int
        Step-length evaluations per line search; after the last one the
        (smallest) step is taken.

    Returns
    -------
    x : ndarray, shape (b, n)
    converged : ndarray of bool, shape (b,)
    """
    x = np.array(x0, dtype=np.float64)
    nb, n = x.shape
    rows = np.arange(nb)
    f = np.asarray(value(x, rows), dtype=np.float64)
    jitter = 1e-12 * max(scale, 1.0) * np.eye(n)
    active = np.ones(nb, dtype=bool)
    for _ in range(max_iter):
        rows = np.flatnonzero(active)
        xa, f_old = x[rows], f[rows]
        g, h = derivatives(xa, rows)
        step = np.linalg.solve(h + ridge + jitter, g[..., None])[..., 0]
        t = np.ones(rows.shape[0])
        for k in range(max_halvings):
            cand = xa + t[:, None] * step
            f_new = np.asarray(value(cand, rows), dtype=np.float64)
            bad = f_new < f_old - 1e-12 * np.abs(f_old) - 1e-12
            if not bad.any() or k == max_halvings - 1:
                break
            t = np.where(bad, 0.5 * t, t)
        x[rows] = cand
        f[rows] = f_new
        done = np.max(np.abs(t[:, None] * step), axis=-1) < tol
        active[rows[done]] = False
        if not active.any():
            break
    return x, ~active


__all__ = ["MAX_HALVINGS", "MAX_NEWTON_ITER", "STEP_TOL", "maximize"]
