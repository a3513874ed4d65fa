"""Bradley-Terry extensions with an explicit tie probability.

With ``d = theta_i - theta_j`` and tie parameter ``kappa`` (estimated):

* Rao-Kupper (Rao & Kupper 1967, "Ties in paired-comparison experiments: a
  generalization of the Bradley-Terry model", JASA 62(317)):
  ``P(i) = sigmoid(d - kappa)``, ``P(j) = sigmoid(-d - kappa)``,
  ``P(tie) = 1 - P(i) - P(j)``, ``kappa = log(nu) > 0``.
* Davidson (Davidson 1970, "On extending the Bradley-Terry model to
  accommodate ties in paired comparison experiments", JASA 65(329)):
  ``P(i) : P(j) : P(tie) = e^{d/2} : e^{-d/2} : e^kappa``.

Both are fitted by damped Newton on ``(theta, kappa)`` over aggregated counts,
with the exact per-outcome scores (so the sandwich "meat" is exact) and the
Hessian from central differences of the analytic gradient.
"""

from __future__ import annotations

import numpy as np

from ratings.bradley_terry import pair_laplacian, scatter_pairs
from ratings.errors import RatingsFitError
from ratings.newton import MAX_NEWTON_ITER, maximize
from ratings.typing import FloatArray, IntArray

TIE_MODELS = ("rao-kupper", "davidson")
_H = 1e-6


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)))


def log_probs(model: str, d: FloatArray, kappa: float) -> FloatArray:
    """Log-probabilities of (i wins, j wins, tie), shape ``d.shape + (3,)``."""
    if model == "rao-kupper":
        a, b = _sigmoid(d - kappa), _sigmoid(-d - kappa)
        p0 = np.maximum(1.0 - a - b, 1e-300)
        return np.stack([np.log(a), np.log(b), np.log(p0)], axis=-1)
    if model == "davidson":
        log_d = np.logaddexp(np.logaddexp(0.5 * d, -0.5 * d), kappa)
        return np.stack([0.5 * d - log_d, -0.5 * d - log_d, kappa - log_d], axis=-1)
    raise ValueError(f"unknown tie model {model!r}; expected one of {TIE_MODELS}")


def scores(model: str, d: FloatArray, kappa: float) -> tuple[FloatArray, FloatArray]:
    """Derivatives of each outcome's log-probability w.r.t. ``d`` and ``kappa``.

    Returns two arrays of shape ``d.shape + (3,)``.
    """
    if model == "rao-kupper":
        a, b = _sigmoid(d - kappa), _sigmoid(-d - kappa)
        p0 = np.maximum(1.0 - a - b, 1e-300)
        va, vb = a * (1.0 - a), b * (1.0 - b)
        sd = np.stack([1.0 - a, -(1.0 - b), (vb - va) / p0], axis=-1)
        sk = np.stack([-(1.0 - a), -(1.0 - b), (va + vb) / p0], axis=-1)
        return sd, sk
    if model == "davidson":
        lp = log_probs(model, d, kappa)
        p = np.exp(lp)
        half = 0.5 * (p[..., 0] - p[..., 1])
        sd = np.stack([0.5 - half, -0.5 - half, -half], axis=-1)
        sk = np.stack([-p[..., 2], -p[..., 2], 1.0 - p[..., 2]], axis=-1)
        return sd, sk
    raise ValueError(f"unknown tie model {model!r}; expected one of {TIE_MODELS}")


def _pair_grad(
    model: str, d: FloatArray, kappa: float, w: FloatArray
) -> tuple[FloatArray, FloatArray]:
    sd, sk = scores(model, d, kappa)
    return (w * sd).sum(axis=-1), (w * sk).sum(axis=-1)


def _objective(
    model: str, theta: FloatArray, kappa: float, i: IntArray, j: IntArray, w: FloatArray, l2: float
) -> float:
    if model == "rao-kupper" and kappa <= 0.0:
        return -np.inf
    lp = log_probs(model, theta[i] - theta[j], kappa)
    return float(np.sum(w * lp) - 0.5 * l2 * theta @ theta)


def derivatives(
    model: str, theta: FloatArray, kappa: float, i: IntArray, j: IntArray, w: FloatArray, l2: float
) -> tuple[FloatArray, FloatArray]:
    """Gradient and minus Hessian of the penalised log-likelihood in ``(theta, kappa)``."""
    m = theta.shape[0]
    d = theta[i] - theta[j]
    gd, gk = _pair_grad(model, d, kappa, w)
    gdd = (_pair_grad(model, d + _H, kappa, w)[0] - _pair_grad(model, d - _H, kappa, w)[0]) / (
        2 * _H
    )
    gk_p, gk_m = _pair_grad(model, d, kappa + _H, w), _pair_grad(model, d, kappa - _H, w)
    gdk = (gk_p[0] - gk_m[0]) / (2 * _H)
    gkk = (gk_p[1] - gk_m[1]) / (2 * _H)
    grad = np.append(scatter_pairs(gd, i, j, m) - l2 * theta, gk.sum())
    neg_h = np.zeros((m + 1, m + 1))
    neg_h[:m, :m] = pair_laplacian(-gdd, i, j, m) + l2 * np.eye(m)
    cross = -scatter_pairs(gdk, i, j, m)
    neg_h[:m, m] = cross
    neg_h[m, :m] = cross
    neg_h[m, m] = -gkk.sum()
    return grad, neg_h


def fit_tie_model(
    model: str,
    i: IntArray,
    j: IntArray,
    w: FloatArray,
    n_models: int,
    *,
    l2: float = 0.0,
    projector: FloatArray | None = None,
    max_iter: int = MAX_NEWTON_ITER,
) -> tuple[FloatArray, float]:
    """Fit a Rao-Kupper or Davidson model.

    Parameters
    ----------
    model : {"rao-kupper", "davidson"}
    i, j : ndarray of int, shape (p,)
        Unique model pairs.
    w : ndarray, shape (p, 3)
        Weighted counts of (i wins, j wins, tie).
    l2 : float
        Gaussian prior precision on ``theta``.
    projector : ndarray, optional
        Null-space projector of the rating block, required when ``l2 == 0``.

    Returns
    -------
    theta : ndarray, shape (m,)
    kappa : float

    Raises
    ------
    RatingsFitError
        No ties in the data (the tie parameter is not identified), or no
        convergence.
    """
    if model not in TIE_MODELS:
        raise ValueError(f"unknown tie model {model!r}; expected one of {TIE_MODELS}")
    tot = w.sum()
    if w[:, 2].sum() <= 0 or tot <= 0:
        raise RatingsFitError(f"the {model} model needs at least one tie in the data")
    m = n_models
    ridge = np.zeros((m + 1, m + 1))
    if l2 == 0.0:
        if projector is None:
            raise ValueError("projector is required when l2 == 0")
        ridge[:m, :m] = projector
    frac = max(w[:, 2].sum() / tot, 1e-6)
    kappa = (
        float(np.log((1 + frac) / (1 - frac)))
        if model == "rao-kupper"
        else float(np.log(2 * frac / (1 - frac)))
    )

    def value(x: FloatArray, rows: IntArray) -> FloatArray:
        return np.array([_objective(model, x[0, :m], float(x[0, m]), i, j, w, l2)])

    def newton_terms(x: FloatArray, rows: IntArray) -> tuple[FloatArray, FloatArray]:
        grad, neg_h = derivatives(model, x[0, :m], float(x[0, m]), i, j, w, l2)
        return grad[None], neg_h[None]

    x, converged = maximize(
        value, newton_terms, np.append(np.zeros(m), kappa)[None], ridge=ridge, scale=tot,
        max_iter=max_iter, max_halvings=60,
    )  # fmt: skip
    if not converged[0]:
        raise RatingsFitError(
            f"{model} Newton iteration did not converge in {max_iter} steps; pass l2 > 0"
        )
    return x[0, :m], float(x[0, m])


def meat(
    model: str, theta: FloatArray, kappa: float, i: IntArray, j: IntArray, w2: FloatArray
) -> FloatArray:
    """Sum of outer products of per-battle scores in ``(theta, kappa)``.

    ``w2`` holds per-cell sums of squared battle weights (the counts when
    unweighted), so this equals the per-battle sum exactly.
    """
    m = theta.shape[0]
    sd, sk = scores(model, theta[i] - theta[j], kappa)
    out = np.zeros((m + 1, m + 1))
    out[:m, :m] = pair_laplacian((w2 * sd * sd).sum(axis=-1), i, j, m)
    cross = scatter_pairs((w2 * sd * sk).sum(axis=-1), i, j, m)
    out[:m, m] = cross
    out[m, :m] = cross
    out[m, m] = (w2 * sk * sk).sum()
    return out


__all__ = ["TIE_MODELS", "derivatives", "fit_tie_model", "log_probs", "meat", "scores"]
