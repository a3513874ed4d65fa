"""The audit's per-group tests over a large arena, a block of groups at a time.

:func:`ratings.anomaly.audit` holds its input columns and a few arrays of one
number per vote (each grouping's vote order, time buckets, masks).  What the
tests compute per vote -- pair keys, histories, outcome probabilities (from
the fitted strengths, :class:`OutcomeModel`), residuals -- exists for one
block of whole groups at a time (at most ``chunk`` votes, unless one group
alone has more), and what they compute per (group, model) cell only for the
block's groups (at most ``chunk`` cells, unless one group alone has more).
At ten million votes this took the audit from 3.4 GB of temporaries (every
vote's three probabilities, a voters x models table) to about 0.35 GB
(``benchmarks/bench_audit.py``).

A block's votes are its groups' votes in their input order, so every group's
sums add the same numbers in the same order as one pass over all votes;
only the sums over all votes (each pair's history, the fit's pair counts,
the drift test's cells), accumulated a chunk at a time, can differ from one
pass in the last bits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ratings.anomaly_stats import (
    DEFAULT_CHUNK,
    DEFAULT_FDR,
    DEFAULT_L2,
    DEFAULT_MIN_MODEL_VOTES,
    DEFAULT_MIN_VOTES,
    Columns,
    VoterTest,
    Weights,
    chi2_sf_even,
    corrected,
    history_pvalues,
    one_model_sums,
    one_model_test,
    one_model_z,
    pair_totals,
    person_fit_result,
    person_fit_sums,
    vote_slices,
)
from ratings.bradley_terry import fit_newton
from ratings.data import BattleChunks, Battles
from ratings.errors import RatingsFitError
from ratings.ties import fit_tie_model, log_probs
from ratings.typing import BoolArray, FloatArray, IndexArray, IntArray


@dataclass(frozen=True, eq=False)
class OutcomeModel:
    """Fitted strengths ``theta``: Davidson ties with ``kappa``, or plain Bradley-Terry when
    ``kappa`` is None (ties impossible); no ``theta``: only ties were seen (ties certain)."""

    theta: FloatArray | None
    kappa: float | None

    def probabilities(self, a: IndexArray, b: IndexArray) -> FloatArray:
        """(A wins, B wins, tie) of each vote, shape (n_votes, 3)."""
        if self.theta is None:
            return np.tile([0.0, 0.0, 1.0], (a.shape[0], 1))
        d = self.theta[a] - self.theta[b]
        if self.kappa is not None:
            return np.exp(log_probs("davidson", d, self.kappa))
        pa = 1.0 / (1.0 + np.exp(-d))
        return np.stack([pa, 1.0 - pa, np.zeros_like(pa)], axis=-1)

    def observed(self, a: IndexArray, b: IndexArray, outcome: IndexArray, *,
                 chunk: int = DEFAULT_CHUNK) -> FloatArray:
        """The probability of each vote's own outcome, shape (n_votes,), a chunk at a time."""
        out = np.empty(a.shape[0])
        for s in vote_slices(a.shape[0], chunk):
            probs = self.probabilities(a[s], b[s])
            out[s] = probs[np.arange(probs.shape[0]), outcome[s]]
        return out


def fit_outcome_model(
    a: IndexArray, b: IndexArray, outcome: IndexArray, n_models: int, *,
    keep: BoolArray | None = None, weight: Weights | None = None, l2: float = DEFAULT_L2,
    chunk: int = DEFAULT_CHUNK,
) -> OutcomeModel:
    """Bradley-Terry with Davidson ties, fitted with a weak ``N(0, 1/l2)`` prior on the votes
    in ``keep`` (all by default) with vote weights ``weight`` (all 1 by default), the votes
    aggregated ``chunk`` at a time; without ties in the data, plain Bradley-Terry; with only
    ties, no strengths."""
    names = tuple(str(k) for k in range(n_models))

    def chunks() -> Iterator[Battles]:
        for s in vote_slices(a.shape[0], chunk):
            sel = np.ones(s.stop - s.start, dtype=bool) if keep is None else keep[s]
            if sel.any():
                w = None if weight is None else weight[s][sel]
                yield Battles(names, a[s][sel], b[s][sel], outcome[s][sel].astype(np.int8), w)

    pc = BattleChunks(names, chunks).aggregate()
    if pc.wsum[:, :2].sum() <= 0:  # only ties: nothing to rate
        return OutcomeModel(None, None)
    try:
        theta, kappa = fit_tie_model("davidson", pc.i, pc.j, pc.wsum, n_models, l2=l2)
        return OutcomeModel(theta, kappa)
    except RatingsFitError:
        theta = fit_newton(pc.i, pc.j, pc.wsum[:, 0], pc.wsum[:, :2].sum(axis=1), n_models, l2=l2)
    return OutcomeModel(theta, None)


def outcome_probabilities(
    a: IndexArray, b: IndexArray, outcome: IndexArray, n_models: int, *,
    keep: BoolArray | None = None, weight: FloatArray | None = None, l2: float = DEFAULT_L2,
) -> FloatArray:
    """Probabilities of (A wins, B wins, tie) for each vote under :func:`fit_outcome_model`.

    Returns
    -------
    ndarray, shape (n_votes, 3)
    """
    model = fit_outcome_model(a, b, outcome, n_models, keep=keep, weight=weight, l2=l2)
    return model.probabilities(a, b)


@dataclass(frozen=True, eq=False)
class GroupBlocks:
    """The votes in group order (stable), cut into blocks of whole groups.

    ``order`` lists the vote indices group by group (int32 when they fit);
    block ``k`` is ``order[bounds[k]:bounds[k + 1]]``, the votes of groups
    ``firsts[k] .. firsts[k + 1] - 1``.
    """

    order: IndexArray
    bounds: IntArray
    firsts: IntArray

    @property
    def n_groups(self) -> int:
        return int(self.firsts[-1])

    def __iter__(self) -> Iterator[tuple[IndexArray, int, int]]:
        """(vote indices, first group, end group) of each block."""
        for k in range(self.firsts.shape[0] - 1):
            idx = self.order[int(self.bounds[k]) : int(self.bounds[k + 1])]
            yield idx, int(self.firsts[k]), int(self.firsts[k + 1])


def group_blocks(
    group: IndexArray, n_groups: int, *, cols: int, chunk: int = DEFAULT_CHUNK
) -> GroupBlocks:
    """Blocks of at most ``chunk`` votes (or one group) and ``chunk // cols`` groups (or one)."""
    order = np.argsort(group, kind="stable")
    if group.shape[0] < np.iinfo(np.int32).max:
        order = order.astype(np.int32)
    ends = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=n_groups))])
    per_block = max(1, chunk // max(cols, 1))
    firsts = [0]
    while firsts[-1] < n_groups:
        g = firsts[-1]
        fit = int(np.searchsorted(ends, ends[g] + chunk, side="right")) - 1
        firsts.append(min(max(fit, g + 1), g + per_block, n_groups))
    at = np.asarray(firsts, dtype=np.int64)
    return GroupBlocks(order, ends[at], at)


def pair_history_test(
    voter: IndexArray, a: IndexArray, b: IndexArray, outcome: IndexArray, n_models: int,
    blocks: GroupBlocks, *, fdr: float = DEFAULT_FDR, min_votes: int = DEFAULT_MIN_VOTES,
    mid_p: bool = True, decisive: bool = True, weight: Weights | None = None,
    exclude: BoolArray | None = None, chunk: int = DEFAULT_CHUNK,
) -> VoterTest:
    """Chiang et al.'s anomalous-voter test: Fisher's combination of the per-vote
    :func:`~ratings.anomaly_stats.pair_history_pvalues`, ``-2 sum log p ~ chi2(2k)``.

    ``decisive`` leaves ties out (votes and history): how often a voter calls
    a tie varies between honest voters, and a heavy honest voter who ties
    twice as often as most is otherwise flagged.  ``weight`` weighs the
    history; votes in ``exclude`` weigh 0 there.

    Voters with fewer than ``min_votes`` votes get ``p = 1`` and are not counted
    in the Benjamini-Hochberg correction.
    """

    def columns(sel: IndexArray | slice) -> Columns:
        w = None if weight is None else weight[sel]
        if exclude is not None:
            w = np.where(exclude[sel], 0.0, 1.0 if w is None else w)
        return a[sel], b[sel], outcome[sel], w

    def parts() -> Iterator[Columns]:
        for s in vote_slices(a.shape[0], chunk):
            yield columns(np.flatnonzero(outcome[s] != 2) + s.start if decisive else s)

    totals = pair_totals(parts, n_models)
    n_voters = blocks.n_groups
    stat, k = np.zeros(n_voters), np.zeros(n_voters, dtype=np.int64)
    for idx, g0, g1 in blocks:
        sel = idx[outcome[idx] != 2] if decisive else idx
        if sel.shape[0] == 0:
            continue
        local = voter[sel] - g0
        p = history_pvalues(totals, local, columns(sel), n_models, mid_p=mid_p)
        stat[g0:g1] = np.bincount(local, -2.0 * np.log(p), minlength=g1 - g0)
        k[g0:g1] = np.bincount(local, minlength=g1 - g0)
    tested = k >= min_votes
    return corrected(stat, tested, chi2_sf_even(stat[tested], k[tested]), fdr)


@dataclass(frozen=True, eq=False)
class FitTests:
    """The person-fit and one-model tests of every group, and each group's most extreme
    one-model column with its ``z``."""

    person_fit: VoterTest
    one_model: VoterTest
    column: IntArray
    z: FloatArray


def fit_tests(
    group: IndexArray, a: IndexArray, b: IndexArray, outcome: IndexArray, model: OutcomeModel,
    n_models: int, blocks: GroupBlocks, *, fdr: float = DEFAULT_FDR,
    min_votes: int = DEFAULT_MIN_VOTES, min_model_votes: int = DEFAULT_MIN_MODEL_VOTES,
) -> FitTests:
    """:func:`~ratings.anomaly_stats.person_fit_test` and the one-model test, a block at a time."""
    n = blocks.n_groups
    num, var, k = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
    column, tested, z = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.zeros(n)
    for idx, g0, g1 in blocks:
        local, ai, bi, oi = group[idx] - g0, a[idx], b[idx], outcome[idx]
        probs = model.probabilities(ai, bi)
        num[g0:g1], var[g0:g1], k[g0:g1] = person_fit_sums(local, oi, probs, g1 - g0)
        sums = one_model_sums(local, ai, bi, oi, probs, n_models, g1 - g0)
        zb, tested[g0:g1] = one_model_z(*sums, min_model_votes=min_model_votes)
        col = np.argmax(np.abs(zb), axis=1)
        column[g0:g1], z[g0:g1] = col, zb[np.arange(g1 - g0), col]
    return FitTests(person_fit_result(num, var, k, fdr=fdr, min_votes=min_votes),
                    one_model_test(np.abs(z), tested, fdr=fdr), column, z)


__all__ = [
    "FitTests",
    "GroupBlocks",
    "OutcomeModel",
    "fit_outcome_model",
    "fit_tests",
    "group_blocks",
    "outcome_probabilities",
    "pair_history_test",
]
