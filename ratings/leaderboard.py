"""High-level leaderboard: fit, intervals, ranks and graph diagnostics in one call."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from ratings import intervals as iv
from ratings.data import (
    DEFAULT_OUTCOME_MAP,
    BattleChunks,
    Battles,
    OutcomeMap,
    PairCounts,
    aggregate,
    battles_from_arrays,
)
from ratings.errors import RatingsInputError, RatingsWarning
from ratings.fitting import check_mle_exists, effective_pairs, fit_binary, fit_style, fit_ties
from ratings.graph import component_labels, component_projector, components
from ratings.records import battles_from_records
from ratings.style import ARENA_RANK_STYLE_REG, STYLE_FEATURES, record_style_features
from ratings.tables import win_rates
from ratings.ties import TIE_MODELS

CiMethod = Literal["sandwich", "bootstrap"]
TiesOption = Literal["half", "drop", "rao-kupper", "davidson"]
TIES_OPTIONS: tuple[str, ...] = ("half", "drop", *TIE_MODELS)


@dataclass(frozen=True)
class ModelRating:
    """One leaderboard row (Elo scale)."""

    model: str
    rating: float
    lower: float
    upper: float
    rank: int
    rank_ub: int
    votes: int
    win_rate: float
    component: int

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Leaderboard:
    """Result of :func:`compute_leaderboard`.

    Attributes
    ----------
    rows : tuple of ModelRating
        Sorted by rating, best first.
    components : tuple of tuple of str
        Connected components of the comparison graph, largest first;
        ``ModelRating.component`` indexes it.  More than one means ratings in
        different components are not comparable from the data alone.
    style_coefficients, style_lower, style_upper : mapping of str to float
        Style coefficients (logit per standard deviation of each feature) and
        their interval bounds; empty without style control.
    tie_parameter : float or None
        Estimated ``kappa`` of the Rao-Kupper / Davidson model.
    warnings : tuple of str
        Everything that was also issued as :class:`RatingsWarning`.
    """

    rows: tuple[ModelRating, ...]
    components: tuple[tuple[str, ...], ...]
    n_battles: int
    ci: str
    level: float
    ties: str
    style_coefficients: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    style_lower: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    style_upper: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    tie_parameter: float | None = None
    warnings: tuple[str, ...] = ()

    @property
    def connected(self) -> bool:
        return len(self.components) == 1

    def row(self, model: str) -> ModelRating:
        """The row of ``model``; raises KeyError if absent."""
        for r in self.rows:
            if r.model == model:
                return r
        raise KeyError(model)

    def to_records(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.rows]


def _to_battles(data: Any, outcome_map: OutcomeMap, style: bool, style_length: str) -> Battles:
    if isinstance(data, Battles):
        if style and data.features is None:
            raise RatingsInputError("style control needs battles with features")
        return data
    if isinstance(data, Mapping) and "model_a" in data:
        if style and "features" not in data:
            raise RatingsInputError("style control needs a 'features' array")
        return battles_from_arrays(
            data["model_a"],
            data["model_b"],
            data["winner"],
            weights=data.get("weight"),
            features=data.get("features"),
            feature_names=data.get("feature_names", STYLE_FEATURES),
            outcome_map=outcome_map,
        )
    if isinstance(data, Iterable):
        fn = (lambda rec: record_style_features(rec, length=style_length)) if style else None
        return battles_from_records(
            list(data),
            outcome_map=outcome_map,
            feature_fn=fn,
            feature_names=STYLE_FEATURES if style else (),
        )
    raise RatingsInputError(f"cannot read battles from {type(data).__name__}")


def compute_leaderboard(
    data: Battles | BattleChunks | Mapping[str, Any] | Iterable[Mapping[str, Any]],
    *,
    ci: CiMethod = "sandwich",
    bootstrap_rounds: int = 100,
    ties: TiesOption = "half",
    style_control: bool = False,
    anchor: tuple[str, float] | None = None,
    l2: float = 0.0,
    level: float = 0.95,
    seed: int = 0,
    reweight: bool = False,
    frequency_weights: bool = False,
    outcome_map: OutcomeMap = DEFAULT_OUTCOME_MAP,
    style_length: str = "tokens",
    style_reg: float = ARENA_RANK_STYLE_REG,
    style_hessian_prior: bool = False,
    scale: float = 400.0,
    base: float = 10.0,
    init: float = 1000.0,
) -> Leaderboard:
    """Fit Bradley-Terry ratings with intervals; see :mod:`ratings` for the options."""
    _check_options(ci, ties, l2)
    if style_control and ties in TIE_MODELS:
        raise ValueError("style control supports ties='half' or 'drop' only")
    if style_control and frequency_weights:
        raise ValueError("style control needs one row per battle, not frequency weights")
    if isinstance(data, BattleChunks):
        if reweight or frequency_weights or (style_control and ci == "bootstrap"):
            raise ValueError("battles in chunks support neither reweight, frequency "
                             "weights nor bootstrap intervals with style control")
        battles: Battles | BattleChunks = data
        full = data.aggregate()
        n_battles = full.n_battles
    else:
        battles = _to_battles(data, outcome_map, style_control, style_length)
        full = aggregate(battles, reweight=reweight, frequency_weights=frequency_weights)
        n_battles = battles.n_battles
    return _leaderboard(
        full, battles.models, n_battles, battles if style_control else None,
        ci=ci, bootstrap_rounds=bootstrap_rounds, ties=ties, anchor=anchor, l2=l2,
        level=level, seed=seed, reweight=reweight, style_reg=style_reg,
        style_hessian_prior=style_hessian_prior, scale=scale, base=base, init=init,
    )  # fmt: skip


def _check_options(ci: str, ties: str, l2: float) -> None:
    if ci not in ("sandwich", "bootstrap"):
        raise ValueError(f"ci must be 'sandwich' or 'bootstrap', got {ci!r}")
    if ties not in TIES_OPTIONS:
        raise ValueError(f"ties must be one of {TIES_OPTIONS}, got {ties!r}")
    if not (l2 >= 0.0 and math.isfinite(l2)):
        raise ValueError("l2 must be a finite non-negative number")


def leaderboard_from_pairs(
    pairs: PairCounts,
    models: tuple[str, ...],
    *,
    n_battles: int | None = None,
    ci: CiMethod = "sandwich",
    bootstrap_rounds: int = 100,
    ties: TiesOption = "half",
    anchor: tuple[str, float] | None = None,
    l2: float = 0.0,
    level: float = 0.95,
    seed: int = 0,
    scale: float = 400.0,
    base: float = 10.0,
    init: float = 1000.0,
) -> Leaderboard:
    """:func:`compute_leaderboard` (without style control) from battles already aggregated
    by :func:`ratings.aggregate`, or tallied the same way as they arrive: a fit costs
    O(pairs), not O(battles). *n_battles*: the battles behind *pairs* (default: their
    count)."""
    _check_options(ci, ties, l2)
    if len(models) != pairs.n_models:
        raise RatingsInputError("models must name each of the pair counts' models")
    if pairs.count.sum() <= 0:
        raise RatingsInputError("no battles to rate (empty data after filtering)")
    return _leaderboard(
        pairs, tuple(models), pairs.n_battles if n_battles is None else n_battles, None,
        ci=ci, bootstrap_rounds=bootstrap_rounds, ties=ties, anchor=anchor, l2=l2,
        level=level, seed=seed, reweight=False, style_reg=ARENA_RANK_STYLE_REG,
        style_hessian_prior=False, scale=scale, base=base, init=init,
    )  # fmt: skip


def _leaderboard(
    full: PairCounts, models: tuple[str, ...], n_battles: int,
    battles: Battles | BattleChunks | None, *,
    ci: CiMethod, bootstrap_rounds: int, ties: TiesOption, anchor: tuple[str, float] | None,
    l2: float, level: float, seed: int, reweight: bool, style_reg: float,
    style_hessian_prior: bool, scale: float, base: float, init: float,
) -> Leaderboard:
    """The fit from aggregated *full* counts (with per-battle *battles*: style control)."""
    z = iv.normal_quantile(level)
    m = len(models)
    pc = effective_pairs(full, ties)
    labels = component_labels(m, pc.i, pc.j)
    groups = components(labels)
    if l2 == 0.0:
        check_mle_exists(pc, labels, ties, models)
    proj = component_projector(labels) if l2 == 0.0 else None
    anchor_idx = None
    if anchor is not None:
        if anchor[0] not in models:
            raise RatingsInputError(f"anchor model {anchor[0]!r} has no battles")
        anchor_idx = models.index(anchor[0])
    notes: list[str] = []
    if len(groups) > 1:
        names = "; ".join("{" + ", ".join(models[k] for k in g) + "}" for g in groups)
        how = "the L2 prior alone" if l2 > 0 else "a sum-to-zero convention per component"
        notes.append(
            f"comparison graph has {len(groups)} disconnected components: {names}; "
            f"their relative offset rests on {how}"
        )
    rng = np.random.default_rng(seed)
    rounds = bootstrap_rounds
    if battles is not None:
        fit = fit_style(
            battles, pc, ties=ties, ci=ci, l2=l2, projector=proj, rounds=rounds, rng=rng,
            reweight=reweight, reg=style_reg, hessian_prior=style_hessian_prior, level=level,
        )  # fmt: skip
    elif ties in TIE_MODELS:
        fit = fit_ties(pc, model=ties, ci=ci, l2=l2, projector=proj, rounds=rounds, rng=rng)
    else:
        fit = fit_binary(
            pc, ties=ties, ci=ci, l2=l2, projector=proj, rounds=rounds, rng=rng, labels=labels
        )
    theta, cov, samples = fit.theta, fit.cov, fit.samples
    if fit.invalid_rounds:
        notes.append(
            f"{fit.invalid_rounds} of {rounds} bootstrap rounds had no finite maximum-likelihood "
            "ratings (a resample where a model never lost or never won) and were left out; "
            "the data are sparse: consider l2 > 0"
        )
    coef: dict[str, float] = {}
    coef_lo: dict[str, float] = {}
    coef_hi: dict[str, float] = {}
    if fit.beta is not None and fit.beta_lower is not None and fit.beta_upper is not None:
        named = battles.feature_names if battles is not None else ()
        fnames = named or tuple(f"f{k}" for k in range(fit.beta.shape[0]))
        coef = dict(zip(fnames, map(float, fit.beta), strict=True))
        coef_lo = dict(zip(fnames, map(float, fit.beta_lower), strict=True))
        coef_hi = dict(zip(fnames, map(float, fit.beta_upper), strict=True))
    factor = scale / math.log(base)
    ratings = init + factor * theta
    shift = 0.0 if anchor is None or anchor_idx is None else anchor[1] - ratings[anchor_idx]
    ratings = ratings + shift
    if cov is not None:
        half = z * factor * iv.contrast_sd(cov, anchor_idx)
        lower, upper = ratings - half, ratings + half
    else:
        assert samples is not None
        sr = init + factor * samples
        sr = sr + (
            shift if anchor_idx is None else (ratings[anchor_idx] - sr[:, anchor_idx])[:, None]
        )
        lower, upper = iv.percentile_bounds(sr, level)
    rates, votes = win_rates(full)
    rank = 1 + (ratings[None, :] > ratings[:, None]).sum(axis=1)
    rank_ub = 1 + (lower[None, :] > upper[:, None]).sum(axis=1)
    comp_of = {int(k): c for c, g in enumerate(groups) for k in g}
    rows = [
        ModelRating(
            models[k],
            float(ratings[k]),
            float(lower[k]),
            float(upper[k]),
            int(rank[k]),
            int(rank_ub[k]),
            int(votes[k]),
            float(rates[k]),
            comp_of[k],
        )
        for k in range(m)
    ]
    rows.sort(key=lambda r: (-r.rating, r.model))
    for note in notes:
        warnings.warn(note, RatingsWarning, stacklevel=2)
    return Leaderboard(
        rows=tuple(rows),
        components=tuple(tuple(models[k] for k in g) for g in groups),
        n_battles=n_battles,
        ci=ci,
        level=level,
        ties=ties,
        style_coefficients=MappingProxyType(coef),
        style_lower=MappingProxyType(coef_lo),
        style_upper=MappingProxyType(coef_hi),
        tie_parameter=fit.kappa,
        warnings=tuple(notes),
    )


__all__ = [
    "CiMethod",
    "Leaderboard",
    "ModelRating",
    "TIES_OPTIONS",
    "TiesOption",
    "compute_leaderboard",
    "leaderboard_from_pairs",
]
