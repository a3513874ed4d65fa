"""Bradley-Terry maximum likelihood on aggregated pair counts.

The model (Bradley & Terry 1952, "Rank analysis of incomplete block designs",
Biometrika 39) gives ``P(i beats j) = 1 / (1 + exp(theta_j - theta_i))``.
With ties as half a win each way (the FastChat / lmarena convention) the
log-likelihood of a pair with ``s`` weighted successes of ``i`` out of ``n``
weighted battles is ``s d - n log(1 + e^d)``, ``d = theta_i - theta_j``
(Hunter 2004, "MM algorithms for generalized Bradley-Terry models", Ann.
Statist. 32(1)).  We maximise it by damped Newton steps (:mod:`ratings.newton`)
with a dense Hessian (a weighted graph Laplacian), optionally with a Gaussian
(L2) prior ``-l2/2 ||theta||^2``, batched over stacked data sets for the
bootstrap.

Without a prior the ratings are fixed by one constraint per connected
component (sum of theta = 0): Newton steps are taken orthogonal to the
Laplacian's null space, which every gradient already is.
"""

from __future__ import annotations

import numpy as np

from ratings.errors import RatingsFitError
from ratings.newton import MAX_NEWTON_ITER, STEP_TOL, maximize
from ratings.typing import BoolArray, FloatArray, IntArray


def successes(wsum: FloatArray, ties: str) -> tuple[FloatArray, FloatArray]:
    """Weighted successes of ``i`` and totals per pair for ``ties``.

    ``wsum`` has cells (i wins, j wins, tie) on its last axis.  ``"half"``
    counts a tie as half a win each way; ``"drop"`` ignores ties.
    """
    if ties == "half":
        return wsum[..., 0] + 0.5 * wsum[..., 2], wsum.sum(axis=-1)
    if ties == "drop":
        return wsum[..., 0], wsum[..., 0] + wsum[..., 1]
    raise ValueError(f"unknown ties option {ties!r} for the binary model")


def log_likelihood(
    theta: FloatArray, i: IntArray, j: IntArray, s: FloatArray, n: FloatArray
) -> FloatArray:
    """Binomial BT log-likelihood; ``theta`` (..., m), ``s, n`` (..., p)."""
    d = theta[..., i] - theta[..., j]
    return np.asarray(np.sum(s * d - n * np.logaddexp(0.0, d), axis=-1))


def gradient(
    theta: FloatArray, i: IntArray, j: IntArray, s: FloatArray, n: FloatArray
) -> FloatArray:
    """Gradient of :func:`log_likelihood` with respect to ``theta``."""
    d = theta[..., i] - theta[..., j]
    r = s - n / (1.0 + np.exp(-d))
    return scatter_pairs(r, i, j, theta.shape[-1])


def scatter_pairs(r: FloatArray, i: IntArray, j: IntArray, m: int) -> FloatArray:
    """``sum_p r_p (e_i - e_j)`` over the last axis, batched over leading axes."""
    r2 = r.reshape(-1, r.shape[-1])
    off = (np.arange(r2.shape[0]) * m)[:, None]
    size = r2.shape[0] * m
    flat = np.bincount((off + i).ravel(), r2.ravel(), size) - np.bincount(
        (off + j).ravel(), r2.ravel(), size
    )
    return np.asarray(flat, dtype=np.float64).reshape(r.shape[:-1] + (m,))


def neg_hessian(theta: FloatArray, i: IntArray, j: IntArray, n: FloatArray) -> FloatArray:
    """Minus the Hessian of :func:`log_likelihood`: a weighted Laplacian.

    Returns shape ``theta.shape + (m,)``; pairs must be unique.
    """
    d = theta[..., i] - theta[..., j]
    p = 1.0 / (1.0 + np.exp(-d))
    return pair_laplacian(n * p * (1.0 - p), i, j, theta.shape[-1])


def pair_laplacian(h: FloatArray, i: IntArray, j: IntArray, m: int) -> FloatArray:
    """Laplacian ``sum_p h_p (e_i - e_j)(e_i - e_j)^T`` for unique pairs ``(i, j)``."""
    out = np.zeros(h.shape[:-1] + (m, m))
    out[..., i, j] = -h
    out[..., j, i] = -h
    idx = np.arange(m)
    out[..., idx, idx] = -out.sum(axis=-1)
    return out


def fit_newton(
    i: IntArray,
    j: IntArray,
    s: FloatArray,
    n: FloatArray,
    n_models: int,
    *,
    l2: float = 0.0,
    projector: FloatArray | None = None,
    max_iter: int = MAX_NEWTON_ITER,
    strict: bool = True,
    theta0: FloatArray | None = None,
) -> FloatArray:
    """Maximise the (penalised) BT log-likelihood by damped Newton steps.

    Parameters
    ----------
    i, j : ndarray of int, shape (p,)
        Unique model pairs.
    s, n : ndarray, shape (p,) or (b, p)
        Weighted successes of ``i`` and weighted totals; a leading batch axis
        fits ``b`` data sets at once (bootstrap).
    n_models : int
    l2 : float
        Precision of the N(0, 1/l2) prior on each ``theta`` (natural-log
        scale); ``0`` for plain maximum likelihood.
    projector : ndarray, shape (m, m), optional
        Projector onto the Hessian's null space (see
        :func:`ratings.graph.component_projector`); required when ``l2 == 0``.
    strict : bool
        Raise :class:`RatingsFitError` when Newton does not converge.
    theta0 : ndarray, shape (m,), optional
        Starting point (e.g. the full-data fit for bootstrap rounds); must
        sum to zero per component when ``l2 == 0``.

    Returns
    -------
    ndarray, shape (m,) or (b, m)
        ``theta``; each component sums to zero when ``l2 == 0``.

    Raises
    ------
    RatingsFitError
        If ``strict`` and the iteration does not converge.
    """
    batch = s.ndim == 2
    s2 = s if batch else s[None, :]
    n2 = n if batch else n[None, :]
    theta = np.zeros((s2.shape[0], n_models))
    if theta0 is not None:
        theta[:] = theta0
    ridge = l2 * np.eye(n_models)
    if l2 == 0.0:
        if projector is None:
            raise ValueError("projector is required when l2 == 0")
        ridge = projector

    def value(t: FloatArray, rows: IntArray) -> FloatArray:
        ll = log_likelihood(t, i, j, s2[rows], n2[rows])
        return np.asarray(ll - 0.5 * l2 * np.sum(t * t, axis=-1))

    def derivatives(t: FloatArray, rows: IntArray) -> tuple[FloatArray, FloatArray]:
        return gradient(t, i, j, s2[rows], n2[rows]) - l2 * t, neg_hessian(t, i, j, n2[rows])

    theta, converged = maximize(
        value, derivatives, theta, ridge=ridge, scale=float(np.max(n2.sum(axis=-1))),
        max_iter=max_iter,
    )  # fmt: skip
    if strict and not converged.all():
        raise RatingsFitError(
            f"Bradley-Terry Newton iteration did not converge in {max_iter} steps; "
            "the data may be (nearly) separable: pass l2 > 0"
        )
    return theta if batch else np.asarray(theta[0])


def fit_chord(
    i: IntArray,
    j: IntArray,
    s: FloatArray,
    n: FloatArray,
    theta0: FloatArray,
    h0_inv: FloatArray,
    *,
    l2: float = 0.0,
    max_iter: int = 50,
) -> tuple[FloatArray, BoolArray]:
    """Fixed-Hessian ("chord") Newton iterations for many nearby data sets.

    Bootstrap resamples have Hessians within a few percent of the full-data
    one, so ``theta <- theta + H0^{-1} g(theta)`` converges linearly and fast
    while costing one gradient (no factorisation) per step.

    Parameters
    ----------
    s, n : ndarray, shape (b, p)
    theta0 : ndarray, shape (m,)
        Full-data estimate, the common starting point.
    h0_inv : ndarray, shape (m, m)
        Inverse (or pseudo-inverse) of minus the full-data Hessian.

    Returns
    -------
    theta : ndarray, shape (b, m)
    converged : ndarray of bool, shape (b,)
    """
    theta = np.broadcast_to(theta0, (s.shape[0], theta0.shape[0])).copy()
    converged = np.zeros(s.shape[0], dtype=bool)
    for _ in range(max_iter):
        step = (gradient(theta, i, j, s, n) - l2 * theta) @ h0_inv
        theta += step
        converged = np.max(np.abs(step), axis=-1) < STEP_TOL
        if converged.all() or not np.all(np.isfinite(theta)):
            break
    return theta, converged & np.all(np.isfinite(theta), axis=-1)


__all__ = [
    "fit_chord",
    "fit_newton",
    "gradient",
    "log_likelihood",
    "neg_hessian",
    "pair_laplacian",
    "scatter_pairs",
    "successes",
]
