"""Per-voter statistics behind :func:`ratings.anomaly.audit` (see its module docstring).

Each test returns a :class:`VoterTest`: a statistic, a raw p-value and a flag
after the Benjamini-Hochberg correction over the voters tested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ratings.bradley_terry import fit_newton
from ratings.data import Battles, aggregate
from ratings.errors import RatingsFitError
from ratings.ties import fit_tie_model, log_probs
from ratings.typing import BoolArray, FloatArray, IndexArray, IntArray

DEFAULT_FDR = 0.01
DEFAULT_MIN_VOTES = 10
DEFAULT_MIN_MODEL_VOTES = 8
DEFAULT_L2 = 1e-3


@dataclass(frozen=True, eq=False)
class VoterTest:
    """One test's per-voter statistic, raw p-value and flag (after correction)."""

    statistic: FloatArray
    pvalue: FloatArray
    flagged: BoolArray


def _canonical(
    a: IndexArray, b: IndexArray, outcome: IndexArray, m: int
) -> tuple[IntArray, IntArray]:
    """Unordered pair key ``lo * m + hi`` and the outcome from ``lo``'s side (0 lo, 1 hi, 2 tie)."""
    lo = np.minimum(a, b).astype(np.int64)
    hi = np.maximum(a, b).astype(np.int64)
    out = outcome.astype(np.int64)
    cell = np.where((a > b) & (out < 2), 1 - out, out)
    return lo * m + hi, cell


def pair_history_pvalues(
    voter: IndexArray, a: IndexArray, b: IndexArray, outcome: IndexArray, n_models: int, *,
    mid_p: bool = False,
) -> FloatArray:
    """Per-vote p-values against the pair's history without the voter (Chiang et al. §5).

    ``p = (1 + sum of H[c'] over outcomes c' with H[c'] <= H[c]) / (|H| + 1)``
    where ``H`` counts the other voters' outcomes on the vote's model pair and
    ``c`` is the vote's outcome.  A pair with no history gives ``p = 1``.
    ``mid_p`` counts the outcomes exactly as frequent as ``c`` (and the vote
    itself) by half (Lancaster 1961, "Significance tests in discrete
    distributions", JASA 56), so that the p-values are about uniform, not
    conservative, and Fisher's combination keeps its power.

    Returns
    -------
    ndarray of float64, shape (n_votes,)
    """
    pair, cell = _canonical(a, b, outcome, n_models)
    _, pair_idx = np.unique(pair, return_inverse=True)
    n_pairs = int(pair_idx.max()) + 1
    total = np.bincount(pair_idx * 3 + cell, minlength=3 * n_pairs).reshape(-1, 3)
    _, vp_idx = np.unique(voter.astype(np.int64) * n_pairs + pair_idx, return_inverse=True)
    own = np.bincount(vp_idx * 3 + cell, minlength=3 * (int(vp_idx.max()) + 1)).reshape(-1, 3)
    hist = (total[pair_idx] - own[vp_idx]).astype(np.float64)
    h_obs = hist[np.arange(hist.shape[0]), cell]
    if mid_p:
        rarer = np.where(hist < h_obs[:, None], hist, 0.0).sum(axis=1)
        same = np.where(hist == h_obs[:, None], hist, 0.0).sum(axis=1)
        return np.asarray((rarer + 0.5 * (same + 1.0)) / (hist.sum(axis=1) + 1.0))
    extreme = np.where(hist <= h_obs[:, None], hist, 0.0).sum(axis=1)
    return np.asarray((1.0 + extreme) / (hist.sum(axis=1) + 1.0))


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


def pair_history_test(
    voter: IndexArray, a: IndexArray, b: IndexArray, outcome: IndexArray, n_models: int,
    n_voters: int, *, fdr: float = DEFAULT_FDR, min_votes: int = DEFAULT_MIN_VOTES,
    mid_p: bool = True, decisive: bool = True,
) -> VoterTest:
    """Chiang et al.'s anomalous-voter test: Fisher's combination of :func:`pair_history_pvalues`.

    ``decisive`` leaves ties out (votes and history): how often a voter calls
    a tie varies between honest voters, and a heavy honest voter who ties
    twice as often as most is otherwise flagged.

    Voters with fewer than ``min_votes`` votes get ``p = 1`` and are not counted
    in the Benjamini-Hochberg correction.
    """
    if decisive:
        keep = outcome != 2
        voter, a, b, outcome = voter[keep], a[keep], b[keep], outcome[keep]
    p = pair_history_pvalues(voter, a, b, outcome, n_models, mid_p=mid_p)
    stat = np.bincount(voter, -2.0 * np.log(p), minlength=n_voters).astype(np.float64)
    k = np.bincount(voter, minlength=n_voters)
    pv = chi2_sf_even(stat, k)
    return _corrected(stat, pv, k >= min_votes, fdr)


def _corrected(stat: FloatArray, p: FloatArray, tested: BoolArray, fdr: float) -> VoterTest:
    p = np.where(tested, p, 1.0)
    flagged = np.zeros(p.shape[0], dtype=bool)
    flagged[tested] = benjamini_hochberg(p[tested], fdr)
    return VoterTest(stat, p, flagged)


def outcome_probabilities(
    a: IndexArray, b: IndexArray, outcome: IndexArray, n_models: int, *,
    keep: BoolArray | None = None, l2: float = DEFAULT_L2,
) -> FloatArray:
    """Probabilities of (A wins, B wins, tie) for each vote under a fitted model.

    Bradley-Terry with Davidson ties, fitted with a weak ``N(0, 1/l2)`` prior
    on the votes in ``keep`` (all by default); without ties in the data, plain
    Bradley-Terry with ties impossible.

    Returns
    -------
    ndarray, shape (n_votes, 3)
    """
    sel = slice(None) if keep is None else keep
    names = tuple(str(k) for k in range(n_models))
    pc = aggregate(Battles(names, a[sel], b[sel], outcome[sel].astype(np.int8), None))
    try:
        theta, kappa = fit_tie_model("davidson", pc.i, pc.j, pc.wsum, n_models, l2=l2)
        return np.exp(log_probs("davidson", theta[a] - theta[b], kappa))
    except RatingsFitError:
        theta = fit_newton(pc.i, pc.j, pc.wsum[:, 0], pc.wsum[:, :2].sum(axis=1), n_models, l2=l2)
    pa = 1.0 / (1.0 + np.exp(-(theta[a] - theta[b])))
    return np.stack([pa, 1.0 - pa, np.zeros_like(pa)], axis=-1)


def person_fit_test(
    voter: IndexArray, outcome: IndexArray, probs: FloatArray, n_voters: int, *,
    fdr: float = DEFAULT_FDR, min_votes: int = DEFAULT_MIN_VOTES,
) -> VoterTest:
    """Standardised log-likelihood ``l_z`` per voter (Drasgow et al. 1985); statistic ``-l_z``.

    Only decisive votes count, with ``P(A | not a tie)``: how often a voter
    calls a tie is a trait of honest voters, not a sign of rigging.
    """
    decisive = outcome != 2
    v, out = voter[decisive], outcome[decisive]
    pa = probs[decisive, 0] / np.maximum(probs[decisive, 0] + probs[decisive, 1], 1e-300)
    p2 = np.stack([pa, 1.0 - pa], axis=1)
    logp = np.log(np.maximum(p2, 1e-300))
    mean = np.sum(p2 * logp, axis=1)
    var = np.sum(p2 * logp * logp, axis=1) - mean * mean
    obs = logp[np.arange(logp.shape[0]), out]
    num = np.bincount(v, obs - mean, minlength=n_voters)
    den = np.sqrt(np.bincount(v, var, minlength=n_voters))
    z = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    k = np.bincount(v, minlength=n_voters)
    return _corrected(-z, normal_cdf(z), k >= min_votes, fdr)


def one_model_scores(
    voter: IndexArray, a: IndexArray, b: IndexArray, outcome: IndexArray, probs: FloatArray,
    n_models: int, n_voters: int, *, min_model_votes: int = DEFAULT_MIN_MODEL_VOTES,
) -> tuple[FloatArray, IntArray, IntArray]:
    """Per-voter residual ``z`` of each model's score, and of the A side.

    Returns ``z`` of shape (n_voters, n_models + 1) (last column: side A;
    cells with fewer than ``min_model_votes`` votes are 0), the column of the
    largest ``|z|`` per voter, and the number of columns tested per voter.
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

    res, vv = cells(r, -r), cells(var, var)
    nn = cells(np.ones_like(r), np.ones_like(r))
    ok = (nn >= min_model_votes) & (vv > 0)
    z = np.where(ok, res / np.sqrt(np.where(ok, vv, 1.0)), 0.0)
    return z, np.argmax(np.abs(z), axis=1), ok.sum(axis=1)


def one_model_test(
    z: FloatArray, n_tested: IntArray, *, fdr: float = DEFAULT_FDR
) -> VoterTest:
    """Largest ``|z|`` per voter, two-sided normal p-value times the columns tested."""
    stat = np.max(np.abs(z), axis=1) if z.size else np.zeros(0)
    p = np.minimum(1.0, 2.0 * normal_cdf(-stat) * np.maximum(n_tested, 1))
    return _corrected(stat, p, n_tested > 0, fdr)




__all__ = [
    "DEFAULT_FDR",
    "DEFAULT_L2",
    "DEFAULT_MIN_MODEL_VOTES",
    "DEFAULT_MIN_VOTES",
    "VoterTest",
    "benjamini_hochberg",
    "chi2_sf_even",
    "normal_cdf",
    "one_model_scores",
    "one_model_test",
    "outcome_probabilities",
    "pair_history_pvalues",
    "pair_history_test",
    "person_fit_test",
]
