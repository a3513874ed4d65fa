"""Battle data: winner labels, validated battle arrays and aggregation.

Battles follow FastChat's ``clean_battle`` schema (see :mod:`ratings.records`
for reading files and records).  Fitting works on :class:`PairCounts`,
the (unordered model pair x outcome) aggregation of the battles, whose size is
bounded by the number of model pairs whatever the number of votes (as in
lmarena/arena-rank ``PairDataset``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ratings.errors import RatingsInputError
from ratings.typing import FloatArray, IndexArray, IntArray


class Outcome(IntEnum):
    """Outcome of one battle, from model A's side."""

    A = 0
    B = 1
    TIE = 2


OutcomeMap = Mapping[str, "Outcome | None"]
"""Winner label -> outcome; ``None`` drops the battle.  Unknown labels raise."""

DEFAULT_OUTCOME_MAP: OutcomeMap = MappingProxyType(
    {
        "model_a": Outcome.A,
        "model_b": Outcome.B,
        "tie": Outcome.TIE,
        "tie (bothbad)": Outcome.TIE,
    }
)
"""Both tie kinds count as ties (FastChat / arena-rank convention)."""

DROP_BOTHBAD_OUTCOME_MAP: OutcomeMap = MappingProxyType(
    {**DEFAULT_OUTCOME_MAP, "tie (bothbad)": None}
)
"""Keep "tie (bothbad)" apart from "tie" by dropping it."""

WINNER_LABELS: tuple[str, ...] = tuple(DEFAULT_OUTCOME_MAP)

Record = Mapping[str, Any]
FeatureFn = Callable[[Record], Sequence[float]]


@dataclass(frozen=True, eq=False)
class Battles:
    """Validated battles as integer-coded arrays.

    Attributes
    ----------
    models : tuple of str
        Model names; ``a``/``b`` index into it.
    a, b : ndarray of signed int (int32 or int64), shape (n,)
        Indices of model A and model B.
    outcome : ndarray of int8, shape (n,)
        :class:`Outcome` codes.
    weight : ndarray of float64, shape (n,), or None
        Non-negative finite battle weights; ``None`` means all ones (and
        saves a pass over the data).
    features : ndarray of float64, shape (n, k), optional
        Per-battle contextual (style) features, already in difference form.
    feature_names : tuple of str
        Names of the ``k`` feature columns.
    indicator_features : int
        How many of the last feature columns are 0/1 group indicators (battle
        attributes such as category, one column per level, as OpenCompass's
        ``groups``); they are fitted unscaled, so ``exp(coefficient)`` is the
        odds ratio of the group itself, while style columns are z-scored.
    """

    models: tuple[str, ...]
    a: IndexArray
    b: IndexArray
    outcome: NDArray[np.int8]
    weight: FloatArray | None
    features: FloatArray | None = None
    feature_names: tuple[str, ...] = field(default=())
    indicator_features: int = 0

    def __post_init__(self) -> None:
        n = self.a.shape[0]
        if n == 0:
            raise RatingsInputError("no battles to rate (empty data after filtering)")
        w = self.weight
        if (
            self.b.shape != (n,)
            or self.outcome.shape != (n,)
            or (w is not None and w.shape != (n,))
        ):
            raise RatingsInputError("a, b, outcome and weight must have the same length")
        m = len(self.models)
        if self.a.min() < 0 or self.b.min() < 0 or max(self.a.max(), self.b.max()) >= m:
            raise RatingsInputError("model index out of range")
        same = np.flatnonzero(self.a == self.b)
        if same.size:
            k = int(same[0])
            raise RatingsInputError(f"battle {k}: model {self.models[self.a[k]]!r} plays itself")
        if w is not None and not np.all(np.isfinite(w)):
            raise RatingsInputError(
                f"battle {int(np.flatnonzero(~np.isfinite(w))[0])}: weight is NaN or infinite"
            )
        if w is not None and np.any(w < 0):
            raise RatingsInputError("battle weights must be non-negative")
        if not np.all((self.outcome >= 0) & (self.outcome <= 2)):
            raise RatingsInputError("outcome codes must be 0 (A wins), 1 (B wins) or 2 (tie)")
        if self.features is not None:
            if self.features.ndim != 2 or self.features.shape[0] != n:
                raise RatingsInputError("features must have shape (n_battles, n_features)")
            if not np.all(np.isfinite(self.features)):
                raise RatingsInputError("features contain NaN or infinite values")
        k = 0 if self.features is None else self.features.shape[1]
        if not 0 <= self.indicator_features <= k:
            raise RatingsInputError("indicator_features must be between 0 and the feature count")

    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def n_battles(self) -> int:
        return int(self.a.shape[0])

    def weights(self) -> FloatArray:
        """Battle weights as an array (a shared zero-stride view of 1.0 when unweighted)."""
        if self.weight is None:
            return np.broadcast_to(np.float64(1.0), (self.n_battles,))
        return self.weight


@dataclass(frozen=True, eq=False)
class BattleChunks:
    """Battles too many to copy into one set of arrays, read a chunk at a time.

    ``chunks()`` is called once per pass over the battles and yields
    :class:`Battles` over ``models`` with the same feature columns each time.
    :func:`ratings.compute_leaderboard` aggregates them in one pass; its style
    control makes a pass per Newton step and keeps nothing per battle between
    passes, so a fit needs the memory of one chunk, not of every battle.
    """

    models: tuple[str, ...]
    chunks: Callable[[], Iterable[Battles]]
    feature_names: tuple[str, ...] = field(default=())
    indicator_features: int = 0

    @property
    def n_models(self) -> int:
        return len(self.models)

    def aggregate(self) -> PairCounts:
        """:func:`aggregate` of every chunk, merged as they come (importance weights, no
        reweighting): the memory of two chunks' pair counts, not of every chunk's (at ten
        million battles of 200 models in 38 chunks, the list of parts was ~100 MB)."""
        merged: PairCounts | None = None
        for chunk in self.chunks():
            part = aggregate(chunk)
            merged = part if merged is None else _merge_pair_counts(merged, part)
        if merged is None:
            raise RatingsInputError("no battles to rate (empty data after filtering)")
        return merged


def _merge_pair_counts(first: PairCounts, second: PairCounts) -> PairCounts:
    """The cells of both, summed (each cell's sum in the order first, second)."""
    m = first.n_models
    keys = np.concatenate([first.i * m + first.j, second.i * m + second.j])
    merged, at = np.unique(keys, return_inverse=True)

    def total(name: str) -> FloatArray:
        out = np.zeros((merged.shape[0], 3))
        np.add.at(out, at, np.concatenate([getattr(first, name), getattr(second, name)]))
        return out

    return PairCounts(m, merged // m, merged % m, total("count"), total("wsum"),
                      total("w2sum"))


def battles_from_arrays(
    model_a: Sequence[Any] | NDArray[Any],
    model_b: Sequence[Any] | NDArray[Any],
    winner: Sequence[Any] | NDArray[Any],
    *,
    models: Sequence[str] | None = None,
    weights: Sequence[float] | FloatArray | None = None,
    features: FloatArray | None = None,
    feature_names: Sequence[str] = (),
    outcome_map: OutcomeMap = DEFAULT_OUTCOME_MAP,
) -> Battles:
    """Build :class:`Battles` from parallel arrays.

    ``model_a``/``model_b`` are names, or integer indices into ``models``.
    ``winner`` holds labels (mapped by ``outcome_map``) or :class:`Outcome` codes.

    Raises
    ------
    RatingsInputError
        Unknown winner label, self-play, empty data, NaN weights.
    """
    ma, mb, w = np.asarray(model_a), np.asarray(model_b), np.asarray(winner)
    if ma.shape[0] == 0:
        raise RatingsInputError("no battles to rate (empty data)")
    if np.issubdtype(ma.dtype, np.integer) and np.issubdtype(mb.dtype, np.integer):
        if models is None:
            raise RatingsInputError("integer model indices need the `models` names")
        names = tuple(models)
        a, b = _index(ma), _index(mb)
    else:
        names_arr, inv = np.unique(
            np.concatenate([ma.astype(str), mb.astype(str)]), return_inverse=True
        )
        names = tuple(str(x) for x in names_arr) if models is None else tuple(models)
        if models is not None:
            lookup = {name: k for k, name in enumerate(names)}
            missing = [x for x in names_arr if str(x) not in lookup]
            if missing:
                raise RatingsInputError(f"model {missing[0]!r} is not in `models`")
            inv = np.array([lookup[str(x)] for x in names_arr])[inv]
        a, b = inv[: ma.shape[0]].astype(np.int64), inv[ma.shape[0] :].astype(np.int64)
    if np.issubdtype(w.dtype, np.integer):
        code = w.astype(np.int8, copy=False)
        keep = np.ones(1, dtype=bool)
    else:
        labels, inv_w = np.unique(w.astype(str), return_inverse=True)
        table = np.empty(labels.shape[0], dtype=np.int8)
        for k, label in enumerate(labels):
            if str(label) not in outcome_map:
                first = int(np.flatnonzero(inv_w == k)[0])
                raise RatingsInputError(
                    f"battle {first}: unknown winner value {str(label)!r}; "
                    f"expected one of {sorted(outcome_map)}"
                )
            mapped = outcome_map[str(label)]
            table[k] = -1 if mapped is None else int(mapped)
        code = table[inv_w]
        keep = code >= 0
    weight = None if weights is None else np.asarray(weights, dtype=np.float64)
    feats = None if features is None else np.asarray(features, dtype=np.float64)
    if not keep.all():
        a, b, code = a[keep], b[keep], code[keep]
        weight = None if weight is None else weight[keep]
        feats = None if feats is None else feats[keep]
    return Battles(names, a, b, code, weight, feats, tuple(feature_names))


@dataclass(frozen=True, eq=False)
class PairCounts:
    """Battles aggregated by unordered model pair ``(i < j)`` and outcome.

    Column 0 counts wins of ``i``, column 1 wins of ``j``, column 2 ties.

    Attributes
    ----------
    n_models : int
    i, j : ndarray of int64, shape (p,)
    count : ndarray, shape (p, 3)
        Number of battles per cell.
    wsum, w2sum : ndarray, shape (p, 3)
        Sum of battle weights and of squared weights per cell.
    """

    n_models: int
    i: IntArray
    j: IntArray
    count: FloatArray
    wsum: FloatArray
    w2sum: FloatArray

    @property
    def n_battles(self) -> int:
        return int(self.count.sum())


def _index(x: NDArray[Any]) -> IndexArray:
    if np.issubdtype(x.dtype, np.signedinteger):
        return x
    return x.astype(np.int64)


def _f64(x: NDArray[Any]) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def aggregate(battles: Battles, *, reweight: bool = False, min_pair_count: int = 50,
              frequency_weights: bool = False) -> PairCounts:
    """Aggregate battles into :class:`PairCounts`.

    One ``np.bincount`` over (ordered pair, outcome) cells when the ``m x m x
    3`` table is small, else a sort-based ``np.unique``; O(N) either way up to
    the sort.

    Parameters
    ----------
    reweight : bool
        Multiply each battle's weight by ``1 / max(n_pair, min_pair_count)``,
        the inverse pair-frequency weighting of lmarena/arena-rank.
    frequency_weights : bool
        Each row's weight is a count: the row stands for that many unit-weight
        battles (pre-aggregated data). Otherwise weights are importance weights
        and enter the sandwich "meat" squared.
    """
    unit = battles.weight is None or bool(np.all(battles.weight == 1.0))
    w = battles.weights()
    if frequency_weights and not unit:
        if not np.all((w >= 0) & (w == np.round(w))):
            raise RatingsInputError("frequency weights must be non-negative whole numbers")
        return _aggregate_counts(battles, w, reweight=reweight, min_pair_count=min_pair_count)
    return _aggregate_counts(battles, None if unit else w, reweight=reweight,
                             min_pair_count=min_pair_count, importance=True)


def _aggregate_counts(battles: Battles, w: FloatArray | None, *, reweight: bool,
                      min_pair_count: int, importance: bool = False) -> PairCounts:
    """*w*: None (unit weights), importance weights, or (``importance=False``) counts."""
    m = battles.n_models
    if m * m * 3 <= max(3 * battles.n_battles, 1 << 22):
        cell = np.multiply(battles.a, 3 * m, dtype=np.int64)
        cell += battles.b * 3
        cell += battles.outcome
        size = m * m * 3

        def fold(values: FloatArray) -> FloatArray:
            t = values.reshape(m, m, 3)
            return np.asarray(t + t.transpose(1, 0, 2)[:, :, [1, 0, 2]])

        if w is None or not importance:
            count = fold(_f64(np.bincount(cell, weights=w, minlength=size)))
            wsum = w2sum = count
        else:
            count = fold(_f64(np.bincount(cell, minlength=size)))
            wsum = fold(_f64(np.bincount(cell, weights=w, minlength=size)))
            w2sum = fold(_f64(np.bincount(cell, weights=w * w, minlength=size)))
        i, j = np.nonzero(np.triu(count.sum(axis=2) > 0, 1))
        count, wsum, w2sum = count[i, j], wsum[i, j], w2sum[i, j]
    else:
        lo = np.minimum(battles.a, battles.b).astype(np.int64)
        hi = np.maximum(battles.a, battles.b).astype(np.int64)
        col = battles.outcome.astype(np.int64)
        col = np.where((battles.a > battles.b) & (col < 2), 1 - col, col)
        keys, pair_idx = np.unique(lo * m + hi, return_inverse=True)
        p = keys.shape[0]
        flat = pair_idx * 3 + col
        if w is None or not importance:
            count = _f64(np.bincount(flat, weights=w, minlength=3 * p)).reshape(p, 3)
            wsum = w2sum = count
        else:
            count = _f64(np.bincount(flat, minlength=3 * p)).reshape(p, 3)
            wsum = _f64(np.bincount(flat, weights=w, minlength=3 * p)).reshape(p, 3)
            w2sum = _f64(np.bincount(flat, w * w, minlength=3 * p)).reshape(p, 3)
        i, j = keys // m, keys % m
    if reweight:
        f = 1.0 / np.maximum(count.sum(axis=1), float(min_pair_count))
        wsum, w2sum = wsum * f[:, None], w2sum * (f * f)[:, None]
    return PairCounts(m, i.astype(np.int64), j.astype(np.int64), count, wsum, w2sum)


__all__ = [
    "DEFAULT_OUTCOME_MAP",
    "DROP_BOTHBAD_OUTCOME_MAP",
    "WINNER_LABELS",
    "BattleChunks",
    "Battles",
    "Outcome",
    "PairCounts",
    "aggregate",
    "battles_from_arrays",
]
