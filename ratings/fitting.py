"""Model-family fits behind :func:`ratings.compute_leaderboard`.

Each returns a :class:`Fit` on the natural-log strength scale: the full-data
point estimate plus either a sandwich covariance or bootstrap replicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ratings import intervals as iv
from ratings.bradley_terry import fit_newton, successes
from ratings.data import BattleChunks, Battles, PairCounts
from ratings.errors import RatingsFitError
from ratings.graph import mle_obstruction
from ratings.style import Block, fit_contextual, fit_contextual_blocks
from ratings.ties import derivatives, fit_tie_model, meat
from ratings.typing import BoolArray, FloatArray, IntArray

_Y = np.array([1.0, 0.0, 0.5])


@dataclass(frozen=True, eq=False)
class Fit:
    """Strengths ``theta`` with a covariance (sandwich) or replicates (bootstrap)."""

    theta: FloatArray
    cov: FloatArray | None = None
    samples: FloatArray | None = None
    kappa: float | None = None
    beta: FloatArray | None = None
    beta_lower: FloatArray | None = None
    beta_upper: FloatArray | None = None
    invalid_rounds: int = 0


def effective_pairs(pc: PairCounts, ties: str) -> PairCounts:
    """Drop pairs that carry no information under ``ties`` (only ties when dropping ties)."""
    keep = (pc.count[:, :2].sum(axis=1) if ties == "drop" else pc.count.sum(axis=1)) > 0
    return PairCounts(
        pc.n_models, pc.i[keep], pc.j[keep], pc.count[keep], pc.wsum[keep], pc.w2sum[keep]
    )


def check_mle_exists(pc: PairCounts, labels: IntArray, ties: str, models: tuple[str, ...]) -> None:
    """Raise :class:`RatingsFitError` naming the models when Ford's condition fails."""
    tie_w = pc.count[:, 2] if ties != "drop" else np.zeros(pc.i.shape[0])
    fwd, bwd = (pc.count[:, 0] + tie_w) > 0, (pc.count[:, 1] + tie_w) > 0
    src = np.concatenate([pc.i[fwd], pc.j[bwd]])
    dst = np.concatenate([pc.j[fwd], pc.i[bwd]])
    bad = mle_obstruction(pc.n_models, src, dst, labels)
    if bad is None:
        return
    root, below, above = bad
    parts = []
    if below:
        parts.append(f"{_names(models, below)} never beat {models[root]!r}")
    if above:
        parts.append(f"{models[root]!r} never beat {_names(models, above)}")
    raise RatingsFitError(
        "the maximum-likelihood ratings do not exist: "
        + " and ".join(parts)
        + " (directly or through other models); pass l2 > 0 for a penalised fit"
    )


def _names(models: tuple[str, ...], idx: list[int]) -> str:
    shown = ", ".join(repr(models[k]) for k in idx[:5])
    return shown + (f" and {len(idx) - 5} more" if len(idx) > 5 else "")


def _valid_samples(samples: FloatArray, valid: BoolArray) -> FloatArray:
    if not valid.any():
        raise RatingsFitError(
            "no bootstrap round has finite maximum-likelihood ratings (the data are too "
            "sparse); pass l2 > 0 or use the sandwich intervals"
        )
    return np.asarray(samples[valid])


def fit_binary(
    pc: PairCounts,
    *,
    ties: str,
    ci: str,
    l2: float,
    projector: FloatArray | None,
    rounds: int,
    rng: np.random.Generator,
    labels: IntArray | None = None,
) -> Fit:
    """Bradley-Terry with ties as half wins (``"half"``) or ignored (``"drop"``)."""
    s, n = successes(pc.wsum, ties)
    theta = fit_newton(pc.i, pc.j, s, n, pc.n_models, l2=l2, projector=projector)
    if ci == "sandwich":
        return Fit(theta, cov=iv.bt_sandwich(pc, theta, ties=ties, l2=l2, projector=projector))
    boot, valid = iv.bt_bootstrap(
        pc, rounds=rounds, rng=rng, ties=ties, l2=l2, projector=projector, theta0=theta,
        labels=labels,
    )  # fmt: skip
    return Fit(theta, samples=_valid_samples(boot, valid), invalid_rounds=int((~valid).sum()))


def fit_ties(
    pc: PairCounts,
    *,
    model: str,
    ci: str,
    l2: float,
    projector: FloatArray | None,
    rounds: int,
    rng: np.random.Generator,
) -> Fit:
    """Rao-Kupper or Davidson model with its tie parameter estimated."""
    m = pc.n_models
    theta, kappa = fit_tie_model(model, pc.i, pc.j, pc.wsum, m, l2=l2, projector=projector)
    if ci == "bootstrap":
        reps, valid = [], []
        for w in iv.bootstrap_counts(pc, rounds, rng):
            try:
                reps.append(fit_tie_model(model, pc.i, pc.j, w, m, l2=l2, projector=projector)[0])
                valid.append(True)
            except RatingsFitError:
                reps.append(np.zeros(m))
                valid.append(False)
        ok = np.asarray(valid)
        samples = _valid_samples(np.asarray(reps), ok)
        return Fit(theta, samples=samples, kappa=kappa, invalid_rounds=int((~ok).sum()))
    _g, neg_h = derivatives(model, theta, kappa, pc.i, pc.j, pc.wsum, l2)
    kproj = None
    if projector is not None:
        kproj = np.zeros((m + 1, m + 1))
        kproj[:m, :m] = projector
    meat_m = meat(model, theta, kappa, pc.i, pc.j, pc.w2sum)
    if l2 > 0:
        meat_m[:m, :m] -= (l2 * l2 / pc.count.sum()) * np.outer(theta, theta)
    return Fit(theta, cov=iv.sandwich_covariance(neg_h, meat_m, kproj)[:m, :m], kappa=kappa)


def fit_style(
    battles: Battles | BattleChunks,
    pc: PairCounts,
    *,
    ties: str,
    ci: str,
    l2: float,
    projector: FloatArray | None,
    rounds: int,
    rng: np.random.Generator,
    reweight: bool,
    reg: float,
    hessian_prior: bool,
    level: float,
) -> Fit:
    """Contextual (style-controlled) Bradley-Terry on per-battle rows."""
    if isinstance(battles, BattleChunks):
        return _fit_style_chunks(battles, pc, ties=ties, l2=l2, projector=projector, reg=reg,
                                 hessian_prior=hessian_prior, level=level)
    if battles.features is None:
        raise ValueError("style control needs battles with features")
    m = battles.n_models
    a, b, w, x = battles.a, battles.b, battles.weights(), battles.features
    y = _Y[battles.outcome]
    if ties == "drop":
        keep = battles.outcome != 2
        a, b, w, x, y = a[keep], b[keep], w[keep], x[keep], y[keep]
    if reweight:  # arena-rank ContextualPairDataset(reweighted=True): mean-normalised
        key = np.minimum(a, b).astype(np.int64) * m + np.maximum(a, b)
        _, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
        w = w / np.maximum(cnt[inv], 50)
        w = w / w.mean()
    s, n_pair = successes(pc.wsum, ties)
    start = fit_newton(pc.i, pc.j, s, n_pair, m, l2=l2, projector=projector, strict=False)
    theta, beta, cov = fit_contextual(
        a, b, y, w, x, m, reg=reg, l2=l2, projector=projector, hessian_prior=hessian_prior,
        theta0=start, standardize=True, indicators=battles.indicator_features,
    )  # fmt: skip
    if ci == "sandwich":
        return _sandwich_fit(theta, beta, cov, level)
    n = a.shape[0]
    reps = []
    for _ in range(rounds):
        resample = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        th, be, _c = fit_contextual(
            a, b, y, w * resample, x, m, reg=reg, l2=l2, projector=projector, covariance=False,
            theta0=theta, standardize=True, indicators=battles.indicator_features,
        )  # fmt: skip
        reps.append(np.concatenate([th, be]))
    boot = np.asarray(reps)
    lo, hi = iv.percentile_bounds(boot[:, m:], level)
    return Fit(theta, samples=boot[:, :m], beta=beta, beta_lower=lo, beta_upper=hi)


def _fit_style_chunks(battles: BattleChunks, pc: PairCounts, *, ties: str, l2: float,
                      projector: FloatArray | None, reg: float, hessian_prior: bool,
                      level: float) -> Fit:
    """:func:`fit_style` (sandwich intervals) over battles read a chunk at a time."""
    m = battles.n_models
    k = len(battles.feature_names)

    def blocks() -> Iterator[Block]:
        for chunk in battles.chunks():
            if chunk.features is None or chunk.features.shape[1] != k:
                raise ValueError("every chunk needs the same feature columns")
            a, b, w, x = chunk.a, chunk.b, chunk.weights(), chunk.features
            y = _Y[chunk.outcome]
            if ties == "drop":
                keep = chunk.outcome != 2
                a, b, w, x, y = a[keep], b[keep], w[keep], x[keep], y[keep]
            yield a, b, y, w, x

    s, n_pair = successes(pc.wsum, ties)
    start = fit_newton(pc.i, pc.j, s, n_pair, m, l2=l2, projector=projector, strict=False)
    theta, beta, cov = fit_contextual_blocks(
        blocks, m, k, reg=reg, l2=l2, projector=projector, hessian_prior=hessian_prior,
        theta0=start, standardize=True, indicators=battles.indicator_features,
    )  # fmt: skip
    return _sandwich_fit(theta, beta, cov, level)


def _sandwich_fit(theta: FloatArray, beta: FloatArray, cov: FloatArray | None,
                  level: float) -> Fit:
    assert cov is not None
    m = theta.shape[0]
    z = iv.normal_quantile(level)
    sd = np.sqrt(np.maximum(np.diag(cov)[m:], 0.0))
    return Fit(theta, cov=cov[:m, :m], beta=beta, beta_lower=beta - z * sd,
               beta_upper=beta + z * sd)


__all__ = ["Fit", "check_mle_exists", "effective_pairs", "fit_binary", "fit_style", "fit_ties"]
