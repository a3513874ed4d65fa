"""Per-voter statistics behind :func:`ratings.anomaly.audit` (see its module docstring).

Each test returns a :class:`VoterTest`: a statistic, a raw p-value and a flag
after the Benjamini-Hochberg correction over the voters tested.  The functions
here work on the votes they are given; :mod:`ratings.anomaly_blocks` runs them
over a large arena a block of voters at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ratings.typing import BoolArray, FloatArray, IndexArray, IntArray

DEFAULT_FDR = 0.01
DEFAULT_MIN_VOTES = 10
DEFAULT_MIN_MODEL_VOTES = 8
DEFAULT_L2 = 1e-3
DEFAULT_CHUNK = 1 << 19
"""Votes handled at a time by the chunked passes (and one-model cells per block of voters)."""

Columns = tuple[IndexArray, IndexArray, IndexArray, FloatArray | None]
"""Model A, model B, outcome and weight (None: all 1) of some votes."""


@dataclass(frozen=True, eq=False)
class GroupWeights:
    """Vote weights given per group (e.g. per time bucket): ``weights[sel]`` is
    ``value[code[sel]]``, without an array of every vote's weight."""

    code: IndexArray
    value: FloatArray

    def __getitem__(self, sel: IndexArray | BoolArray | slice) -> FloatArray:
        return self.value[self.code[sel]]


Weights = FloatArray | GroupWeights
"""One weight per vote: an array, or :class:`GroupWeights`."""


@dataclass(frozen=True, eq=False)
class VoterTest:
    """One test's per-voter statistic, raw p-value and flag (after correction)."""

    statistic: FloatArray
    pvalue: FloatArray
    flagged: BoolArray


def vote_slices(n: int, chunk: int) -> Iterator[slice]:
    """``slice`` objects covering ``0 .. n`` in order, ``chunk`` votes each."""
    for start in range(0, n, max(chunk, 1)):
        yield slice(start, min(start + max(chunk, 1), n))


def _canonical(
    a: IndexArray, b: IndexArray, outcome: IndexArray, m: int
) -> tuple[IntArray, IntArray]:
    """Unordered pair key ``lo * m + hi`` and the outcome from ``lo``'s side (0 lo, 1 hi, 2 tie)."""
    lo = np.minimum(a, b).astype(np.int64)
    hi = np.maximum(a, b).astype(np.int64)
    out = outcome.astype(np.int64)
    cell = np.where((a > b) & (out < 2), 1 - out, out)
    return lo * m + hi, cell


@dataclass(frozen=True, eq=False)
class PairTotals:
    """Outcome counts (weighted) per model pair: ``keys`` the sorted keys ``lo * m + hi`` that
    occur, ``total`` shape (n_pairs, 3), columns as :func:`_canonical`'s outcome."""

    keys: IntArray
    total: FloatArray


def pair_totals(parts: Callable[[], Iterable[Columns]], n_models: int) -> PairTotals:
    """:class:`PairTotals` of the votes ``parts()`` yields (called twice), a part at a time."""
    found = [np.unique(_canonical(a, b, o, n_models)[0]) for a, b, o, _ in parts()]
    keys = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    total = np.zeros(3 * keys.shape[0])
    for a, b, o, w in parts():
        pair, cell = _canonical(a, b, o, n_models)
        total += np.bincount(np.searchsorted(keys, pair) * 3 + cell, w, total.shape[0])
    return PairTotals(keys, total.reshape(-1, 3))


def history_pvalues(
    totals: PairTotals, voter: IndexArray, votes: Columns, n_models: int, *, mid_p: bool
) -> FloatArray:
    """:func:`pair_history_pvalues` of ``votes`` (all votes of their voters) against ``totals``."""
    a, b, outcome, weight = votes
    pair, cell = _canonical(a, b, outcome, n_models)
    pair_idx = np.searchsorted(totals.keys, pair)
    n_pairs = max(totals.keys.shape[0], 1)
    _, vp_idx = np.unique(voter.astype(np.int64) * n_pairs + pair_idx, return_inverse=True)
    own = np.bincount(vp_idx * 3 + cell, weight, 3 * (int(vp_idx.max()) + 1)).reshape(-1, 3)
    # one column at a time: no (n, 3) temporaries; sums left to right, as a row sum would
    hist = [np.maximum(totals.total[pair_idx, c] - own[vp_idx, c], 0.0) for c in range(3)]
    h_obs = np.choose(cell, hist)
    size = hist[0] + hist[1] + hist[2]
    if mid_p:
        rarer = sum_where(hist, h_obs, np.less)
        same = sum_where(hist, h_obs, np.equal)
        return np.asarray((rarer + 0.5 * (same + 1.0)) / (size + 1.0))
    extreme = sum_where(hist, h_obs, np.less_equal)
    return np.asarray((1.0 + extreme) / (size + 1.0))


def sum_where(
    hist: list[FloatArray], h_obs: FloatArray, op: Callable[[FloatArray, FloatArray], BoolArray]
) -> FloatArray:
    """``sum over c of hist[c] where op(hist[c], h_obs)``, added left to right."""
    out = np.where(op(hist[0], h_obs), hist[0], 0.0)
    for h in hist[1:]:
        out += np.where(op(h, h_obs), h, 0.0)
    return out


def pair_history_pvalues(
    voter: IndexArray, a: IndexArray, b: IndexArray, outcome: IndexArray, n_models: int, *,
    mid_p: bool = False, weight: FloatArray | None = None,
) -> FloatArray:
    """Per-vote p-values against the pair's history without the voter (Chiang et al. §5).

    ``p = (1 + sum of H[c'] over outcomes c' with H[c'] <= H[c]) / (|H| + 1)``
    where ``H`` counts the other voters' outcomes on the vote's model pair and
    ``c`` is the vote's outcome.  A pair with no history gives ``p = 1``.
    ``mid_p`` counts the outcomes exactly as frequent as ``c`` (and the vote
    itself) by half (Lancaster 1961, "Significance tests in discrete
    distributions", JASA 56), so that the p-values are about uniform, not
    conservative, and Fisher's combination keeps its power.  ``weight``
    weighs the history (each vote counts 1 by default).

    Returns
    -------
    ndarray of float64, shape (n_votes,)
    """
    if a.shape[0] == 0:
        return np.ones(0)
    votes: Columns = (a, b, outcome, weight)
    totals = pair_totals(lambda: (votes,), n_models)
    return history_pvalues(totals, voter, votes, n_models, mid_p=mid_p)


def chi2_sf_even(x: FloatArray, k: IntArray) -> FloatArray:
    """``P(chi2(2k) > x)`` = ``exp(-x/2) sum_{i<k} (x/2)^i / i!``, in log space."""
    out = np.ones(x.shape[0])
    kmax = int(k.max()) if k.size else 0
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, max(kmax, 1))))])
    for v in np.flatnonzero(k > 0):
        h = 0.5 * float(x[v])
        if h <= 0.0:
            continue
        i = np.arange(int(k[v]))
        terms = i * math.log(h) - log_fact[: i.shape[0]] - h
        top = terms.max()
        out[v] = min(1.0, math.exp(top) * float(np.exp(terms - top).sum()))
    return out


def benjamini_hochberg(p: FloatArray, q: float) -> BoolArray:
    """Reject with the Benjamini-Hochberg step-up rule at false discovery rate ``q``."""
    n = p.shape[0]
    order = np.argsort(p, kind="stable")
    below = p[order] <= q * np.arange(1, n + 1) / max(n, 1)
    reject = np.zeros(n, dtype=bool)
    if below.any():
        reject[order[: int(np.flatnonzero(below)[-1]) + 1]] = True
    return reject


def normal_cdf(z: FloatArray) -> FloatArray:
    """Standard normal distribution function (``erfc``: exact far in the lower tail)."""
    return np.array([0.5 * math.erfc(-float(t) / math.sqrt(2.0)) for t in z])


def corrected(stat: FloatArray, tested: BoolArray, p_tested: FloatArray, fdr: float) -> VoterTest:
    """A :class:`VoterTest`: ``p_tested`` for the ``tested`` (the only p-values worked out:
    most voters of an arena cast too few votes), 1 for the others, Benjamini-Hochberg flags."""
    p = np.ones(stat.shape[0])
    p[tested] = p_tested
    flagged = np.zeros(p.shape[0], dtype=bool)
    flagged[tested] = benjamini_hochberg(p_tested, fdr)
    return VoterTest(stat, p, flagged)


def person_fit_sums(
    voter: IndexArray, outcome: IndexArray, probs: FloatArray, n_voters: int
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Per voter: ``sum(log pi - E log pi)``, ``sum Var log pi`` and the decisive votes."""
    decisive = outcome != 2
    v, out = voter[decisive], outcome[decisive]
    pa = probs[decisive, 0] / np.maximum(probs[decisive, 0] + probs[decisive, 1], 1e-300)
    p2 = np.stack([pa, 1.0 - pa], axis=1)
    logp = np.log(np.maximum(p2, 1e-300))
    mean = np.sum(p2 * logp, axis=1)
    var = np.sum(p2 * logp * logp, axis=1) - mean * mean
    obs = logp[np.arange(logp.shape[0]), out]
    return (np.bincount(v, obs - mean, minlength=n_voters).astype(np.float64, copy=False),
            np.bincount(v, var, minlength=n_voters).astype(np.float64, copy=False),
            np.bincount(v, minlength=n_voters).astype(np.int64, copy=False))


def person_fit_result(
    num: FloatArray, var: FloatArray, k: IntArray, *, fdr: float, min_votes: int
) -> VoterTest:
    """:func:`person_fit_test` from the sums of :func:`person_fit_sums`."""
    den = np.sqrt(var)
    z = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    tested = k >= min_votes
    return corrected(-z, tested, normal_cdf(z[tested]), fdr)


def person_fit_test(
    voter: IndexArray, outcome: IndexArray, probs: FloatArray, n_voters: int, *,
    fdr: float = DEFAULT_FDR, min_votes: int = DEFAULT_MIN_VOTES,
) -> VoterTest:
    """Standardised log-likelihood ``l_z`` per voter (Drasgow et al. 1985); statistic ``-l_z``.

    Only decisive votes count, with ``P(A | not a tie)``: how often a voter
    calls a tie is a trait of honest voters, not a sign of rigging.
    """
    num, var, k = person_fit_sums(voter, outcome, probs, n_voters)
    return person_fit_result(num, var, k, fdr=fdr, min_votes=min_votes)


def one_model_sums(
    voter: IndexArray, a: IndexArray, b: IndexArray, outcome: IndexArray, probs: FloatArray,
    n_models: int, n_voters: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per (voter, column): residual sum, variance sum and votes, shape (n_voters, n_models + 1).

    Dense: call it on a block of voters (or on time buckets), not on a whole arena.
    """
    y = np.choose(outcome.astype(np.int64), [1.0, 0.0, 0.5])
    e = probs[:, 0] + 0.5 * probs[:, 2]
    var = probs[:, 0] + 0.25 * probs[:, 2] - e * e
    r = y - e
    cols = n_models + 1
    v = voter.astype(np.int64) * cols
    size = n_voters * cols
    side = v + n_models

    def cells(wa: FloatArray, wb: FloatArray | None) -> FloatArray:
        t = np.bincount(v + a, wa, size) + np.bincount(side, wa, size)
        if wb is not None:
            t = t + np.bincount(v + b, wb, size)
        return np.asarray(t, dtype=np.float64).reshape(n_voters, cols)

    return cells(r, -r), cells(var, var), cells(np.ones_like(r), np.ones_like(r))


def one_model_z(
    res: FloatArray, var: FloatArray, n: FloatArray, *, min_model_votes: int
) -> tuple[FloatArray, IntArray]:
    """``z`` per cell of :func:`one_model_sums` (0 below ``min_model_votes``), columns tested."""
    ok = (n >= min_model_votes) & (var > 0)
    z = np.where(ok, res / np.sqrt(np.where(ok, var, 1.0)), 0.0)
    return z, ok.sum(axis=1)


def one_model_scores(
    voter: IndexArray, a: IndexArray, b: IndexArray, outcome: IndexArray, probs: FloatArray,
    n_models: int, n_voters: int, *, min_model_votes: int = DEFAULT_MIN_MODEL_VOTES,
) -> tuple[FloatArray, IntArray, IntArray]:
    """Per-voter residual ``z`` of each model's score, and of the A side.

    Returns ``z`` of shape (n_voters, n_models + 1) (last column: side A;
    cells with fewer than ``min_model_votes`` votes are 0), the column of the
    largest ``|z|`` per voter, and the number of columns tested per voter.
    """
    sums = one_model_sums(voter, a, b, outcome, probs, n_models, n_voters)
    z, tested = one_model_z(*sums, min_model_votes=min_model_votes)
    return z, np.argmax(np.abs(z), axis=1), tested


def one_model_test(
    stat: FloatArray, n_tested: IntArray, *, fdr: float = DEFAULT_FDR
) -> VoterTest:
    """Largest ``|z|`` per voter (``stat``), two-sided normal p-value times the columns tested."""
    tested = n_tested > 0
    p = np.minimum(1.0, 2.0 * normal_cdf(-stat[tested]) * np.maximum(n_tested[tested], 1))
    return corrected(stat, tested, p, fdr)


__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_FDR",
    "DEFAULT_L2",
    "DEFAULT_MIN_MODEL_VOTES",
    "DEFAULT_MIN_VOTES",
    "Columns",
    "GroupWeights",
    "PairTotals",
    "VoterTest",
    "Weights",
    "benjamini_hochberg",
    "chi2_sf_even",
    "corrected",
    "history_pvalues",
    "normal_cdf",
    "one_model_scores",
    "one_model_sums",
    "one_model_test",
    "one_model_z",
    "pair_history_pvalues",
    "pair_totals",
    "person_fit_result",
    "person_fit_sums",
    "person_fit_test",
    "sum_where",
    "vote_slices",
]
