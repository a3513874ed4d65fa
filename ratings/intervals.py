"""Confidence intervals: sandwich (robust) covariance and multinomial bootstrap.

Sandwich: ``cov = H^{-1} J H^{-1}`` with ``H`` minus the Hessian of the
penalised log-likelihood and ``J`` the sum over battles of the outer products
of per-battle (penalised) scores (Huber 1967; White 1982, "Maximum likelihood
estimation of misspecified models", Econometrica 50(1)); the form used by
lmarena/arena-rank.  On aggregated counts ``J`` is exact: every battle in a
(pair, outcome) cell has the same score.  Without a prior ``H`` is singular
along one direction per connected component; we use its pseudo-inverse,
i.e. the covariance of the sum-to-zero-per-component ratings.

Bootstrap: the aggregated cells are resampled as one multinomial draw of the
total battle count with the observed cell frequencies (equivalent to
resampling battles with replacement; Efron & Tibshirani 1993), and all rounds
are fitted together by batched Newton.  The point estimate stays the
full-data fit; the bootstrap supplies percentile bounds only.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from ratings.bradley_terry import fit_chord, fit_newton, neg_hessian, pair_laplacian, successes
from ratings.data import PairCounts
from ratings.graph import mle_obstruction
from ratings.typing import BoolArray, FloatArray, IntArray

_TARGET = {"half": np.array([1.0, 0.0, 0.5]), "drop": np.array([1.0, 0.0, 0.0])}


def normal_quantile(level: float) -> float:
    """Two-sided standard normal quantile for confidence ``level``."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def pseudo_inverse(h: FloatArray, projector: FloatArray | None) -> FloatArray:
    """Inverse of ``h``, or pseudo-inverse ``inv(h + K) - K`` for a null-space projector ``K``."""
    if projector is None:
        return np.asarray(np.linalg.inv(h))
    return np.asarray(np.linalg.inv(h + projector) - projector)


def sandwich_covariance(
    h: FloatArray, j: FloatArray, projector: FloatArray | None = None
) -> FloatArray:
    """``H^{-1} J H^{-1}`` (pseudo-inverse along ``projector``'s range)."""
    hinv = pseudo_inverse(h, projector)
    return np.asarray(hinv @ j @ hinv)


def bt_sandwich(
    pc: PairCounts,
    theta: FloatArray,
    *,
    ties: str = "half",
    l2: float = 0.0,
    projector: FloatArray | None = None,
) -> FloatArray:
    """Sandwich covariance of the binary BT estimate ``theta`` (natural-log scale).

    Parameters
    ----------
    pc : PairCounts
    theta : ndarray, shape (m,)
        The fitted ratings.
    ties : {"half", "drop"}
    l2 : float
        Prior precision used in the fit; the meat then uses the penalised
        per-battle scores ``s_k - l2 theta / N``.
    projector : ndarray, optional
        Null-space projector, required when ``l2 == 0``.

    Returns
    -------
    ndarray, shape (m, m)
    """
    _, n = successes(pc.wsum, ties)
    m = theta.shape[0]
    h = neg_hessian(theta, pc.i, pc.j, n) + l2 * np.eye(m)
    p = 1.0 / (1.0 + np.exp(-(theta[pc.i] - theta[pc.j])))
    resid2 = (_TARGET[ties][None, :] - p[:, None]) ** 2
    w2 = pc.w2sum if ties == "half" else pc.w2sum[:, :2]
    jmat = pair_laplacian((w2 * resid2[:, : w2.shape[1]]).sum(axis=1), pc.i, pc.j, m)
    if l2 > 0.0:
        n_obs = pc.count.sum() if ties == "half" else pc.count[:, :2].sum()
        jmat = jmat - (l2 * l2 / n_obs) * np.outer(theta, theta)
    return sandwich_covariance(h, jmat, None if l2 > 0.0 else projector)


def bootstrap_counts(pc: PairCounts, rounds: int, rng: np.random.Generator) -> FloatArray:
    """Multinomial resamples of the cell weights, shape ``(rounds, p, 3)``.

    Each round draws the total number of battles over the cells with the
    observed frequencies; cell weights scale with the drawn counts.
    """
    total = int(round(pc.count.sum()))
    freq = (pc.count / pc.count.sum()).ravel()
    draws = rng.multinomial(total, freq, size=rounds).astype(np.float64)
    per_battle = np.divide(
        pc.wsum, pc.count, out=np.zeros_like(pc.wsum), where=pc.count > 0
    ).ravel()
    return (draws * per_battle[None, :]).reshape(rounds, *pc.wsum.shape)


def bt_bootstrap(
    pc: PairCounts,
    *,
    rounds: int,
    rng: np.random.Generator,
    ties: str = "half",
    l2: float = 0.0,
    projector: FloatArray | None = None,
    theta0: FloatArray | None = None,
    labels: IntArray | None = None,
) -> tuple[FloatArray, BoolArray]:
    """Refit the binary BT model on ``rounds`` multinomial resamples at once.

    ``theta0`` (the full-data fit) is a warm start that saves Newton steps.
    With ``l2 == 0`` and component ``labels`` given, rounds whose resample
    breaks Ford's condition (no finite MLE: a model that never lost or never
    won, or a component split apart) are flagged invalid.

    Returns
    -------
    theta : ndarray, shape (rounds, m)
        ``theta`` per round (sum-to-zero per component when ``l2 == 0``).
    valid : ndarray of bool, shape (rounds,)
    """
    if rounds < 1:
        raise ValueError("bootstrap rounds must be >= 1")
    h0_inv = None
    if theta0 is not None:
        _, n_full = successes(pc.wsum, ties)
        h0 = neg_hessian(theta0, pc.i, pc.j, n_full) + l2 * np.eye(pc.n_models)
        h0_inv = pseudo_inverse(h0, None if l2 > 0 else projector)
    parts = [
        _bootstrap_batch(pc, min(BOOTSTRAP_BATCH, rounds - start), rng, ties, l2, projector,
                         theta0, h0_inv, labels)
        for start in range(0, rounds, BOOTSTRAP_BATCH)
    ]  # fmt: skip
    return (np.concatenate([theta for theta, _ in parts]),
            np.concatenate([valid for _, valid in parts]))


BOOTSTRAP_BATCH = 16
"""Rounds resampled and refitted together: the temporaries (several arrays of rounds x
pairs x 3) of sixteen rounds, not of all (at 200 models and 100 rounds, 128 MB)."""


def _bootstrap_batch(
    pc: PairCounts, rounds: int, rng: np.random.Generator, ties: str, l2: float,
    projector: FloatArray | None, theta0: FloatArray | None, h0_inv: FloatArray | None,
    labels: IntArray | None,
) -> tuple[FloatArray, BoolArray]:
    w = bootstrap_counts(pc, rounds, rng)
    s, n = successes(w, ties)
    m = pc.n_models
    valid = np.ones(rounds, dtype=bool)
    if l2 == 0.0 and labels is not None:
        for r in range(rounds):
            fwd, bwd = s[r] > 0, (n[r] - s[r]) > 0
            src = np.concatenate([pc.i[fwd], pc.j[bwd]])
            dst = np.concatenate([pc.j[fwd], pc.i[bwd]])
            valid[r] = mle_obstruction(m, src, dst, labels) is None
    if theta0 is None or h0_inv is None:
        theta = fit_newton(pc.i, pc.j, s, n, m, l2=l2, projector=projector, strict=False)
        return theta, valid
    # Chord iterations from the full-data fit with its Hessian; rounds that do
    # not settle fall back to full damped Newton.
    theta, ok = fit_chord(pc.i, pc.j, s, n, theta0, h0_inv, l2=l2)
    redo = ~ok & valid
    if redo.any():
        theta[redo] = fit_newton(
            pc.i, pc.j, s[redo], n[redo], m, l2=l2, projector=projector, strict=False
        )
    return theta, valid


def percentile_bounds(samples: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """Equal-tailed percentile interval over axis 0 (linear interpolation)."""
    lo = np.quantile(samples, (1.0 - level) / 2.0, axis=0)
    hi = np.quantile(samples, (1.0 + level) / 2.0, axis=0)
    return np.asarray(lo), np.asarray(hi)


def contrast_sd(cov: FloatArray, anchor: int | None) -> FloatArray:
    """Standard deviation of each ``theta_k`` (or of ``theta_k - theta_anchor``)."""
    d = np.diag(cov)
    if anchor is None:
        return np.asarray(np.sqrt(np.maximum(d, 0.0)))
    var = d + d[anchor] - 2.0 * cov[:, anchor]
    return np.asarray(np.sqrt(np.maximum(var, 0.0)))


__all__ = [
    "bootstrap_counts",
    "bt_bootstrap",
    "bt_sandwich",
    "contrast_sd",
    "normal_quantile",
    "percentile_bounds",
    "pseudo_inverse",
    "sandwich_covariance",
]
