"""Anomalous voters and implausible votes: the tests behind ``arena voters audit``.

Votes come as integer-coded arrays: ``voter`` (any grouping of votes: a voter
id, a network address, ...), ``a``/``b`` (model indices) and ``outcome``
(:class:`ratings.data.Outcome` codes: 0 A wins, 1 B wins, 2 tie).  Three tests
give each voter a p-value, and each is corrected for the number of voters
tested by the Benjamini-Hochberg step-up rule (Benjamini & Hochberg 1995,
"Controlling the false discovery rate", JRSS B 57(1)):

* **Pair history** (Chiang et al. 2024, "Chatbot Arena: An Open Platform for
  Evaluating LLMs by Human Preference", ICML, section 5): each vote is ranked
  against the history ``H`` of its model pair made of the *other* voters'
  votes, ``p = (1 + #{h in H at least as extreme}) / (|H| + 1)``.  Outcomes
  are unordered categories here, so "at least as extreme" means "at most as
  frequent in ``H``".  A voter's p-values are combined by Fisher's method,
  ``-2 sum log p ~ chi2(2k)`` under the null (Fisher 1925).  Discrete
  p-values make this test conservative.
* **Person fit** against a fitted model: Bradley-Terry with Davidson ties
  (:mod:`ratings.ties`) gives each vote the probability ``pi`` of its
  outcome; the standardised log-likelihood of a voter's votes
  ``l_z = sum(log pi - E log pi) / sqrt(sum Var log pi)`` (Drasgow, Levine &
  Williams 1985, "Appropriateness measurement with polychotomous item
  response models and standardized indices", Brit. J. Math. Stat. Psych.
  38) is about N(0, 1) for an honest voter and very negative for one who
  votes at random or against the strengths.  One-sided normal tail.
* **One model** (the rigging threat of Min et al. 2025, "Improving Your Model
  Ranking on Chatbot Arena by Vote Rigging", ICML): for each model, the
  standardised residual ``sum(y - E y) / sqrt(sum Var y)`` of its score
  (1 win, 1/2 tie, 0 loss) in a voter's votes; a voter who always votes for
  one model, or against a rival (the "omnipresent" strategy), or for one
  side, stands out.  The statistic is the largest ``|z|`` over the models and
  the A side, with a Bonferroni factor for the number of columns tested.

The model is fitted on all votes, then refitted without the votes of the
voters flagged in the first round (a flagged attacker's votes otherwise bend
the strengths it is tested against), and the tests are repeated.  A flagged
voter's votes are all suspicious; votes whose outcome had probability below
``min_vote_probability`` under the final fit may be masked as well (off by
default: every single upset is also an honest vote somewhere).
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
DEFAULT_DRIFT_SECONDS = 86_400.0


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


@dataclass(frozen=True, eq=False)
class DriftCell:
    """A model that did better (``z > 0``) or worse than its strength in one time bucket."""

    start: float
    model: int
    z: float


def drift_test(
    time: FloatArray, a: IndexArray, b: IndexArray, outcome: IndexArray, probs: FloatArray,
    n_models: int, *, seconds: float, fdr: float = DEFAULT_FDR,
    min_model_votes: int = DEFAULT_MIN_MODEL_VOTES,
) -> tuple[tuple[DriftCell, ...], BoolArray, BoolArray]:
    """One-model residuals per time bucket of ``seconds``: a burst of rigged votes.

    Every (bucket, model) cell is tested (two-sided normal p-value,
    Benjamini-Hochberg over the cells); the votes of a flagged cell that
    involve its model are marked.  Returns the flagged cells, that mask, and
    the mask of the cells where the model did better than its strength.
    """
    bucket_of = np.floor(time / seconds).astype(np.int64)
    starts, bucket = np.unique(bucket_of, return_inverse=True)
    z, _col, _n = one_model_scores(
        bucket, a, b, outcome, probs, n_models, starts.shape[0], min_model_votes=min_model_votes)
    z = z[:, :n_models]
    tested = z.ravel() != 0.0
    p = 2.0 * normal_cdf(-np.abs(z.ravel()[tested]))
    hit = np.zeros(z.size, dtype=bool)
    hit[np.flatnonzero(tested)[benjamini_hochberg(p, fdr)]] = True
    hit2 = hit.reshape(z.shape)
    up = hit2 & (z > 0)
    mask = hit2[bucket, a] | hit2[bucket, b]
    rising = up[bucket, a] | up[bucket, b]
    cells = tuple(
        DriftCell(float(starts[g] * seconds), int(k), float(z[g, k]))
        for g, k in zip(*np.nonzero(hit2), strict=True)
    )
    return cells, mask, rising


@dataclass(frozen=True, eq=False)
class GroupAudit:
    """The three tests on one grouping of the votes (voters, or network addresses)."""

    flagged: BoolArray
    reasons: tuple[str, ...]
    pair_history: VoterTest
    person_fit: VoterTest
    one_model: VoterTest


def _group_audit(
    group: IndexArray, a: IndexArray, b: IndexArray, outcome: IndexArray, probs: FloatArray,
    history: VoterTest, names: tuple[str, ...], *, fdr: float, min_votes: int,
    min_model_votes: int,
) -> GroupAudit:
    m, ng = len(names), history.flagged.shape[0]
    fit = person_fit_test(group, outcome, probs, ng, fdr=fdr, min_votes=min_votes)
    z, col, n_cols = one_model_scores(
        group, a, b, outcome, probs, m, ng, min_model_votes=min_model_votes)
    one = one_model_test(z, n_cols, fdr=fdr)
    flagged = history.flagged | fit.flagged | one.flagged
    reasons = []
    for v in np.arange(ng):
        parts = []
        if history.flagged[v]:
            parts.append(f"pair history p={history.pvalue[v]:.1e}")
        if fit.flagged[v]:
            parts.append(f"implausible outcomes l_z={-fit.statistic[v]:.1f}")
        if one.flagged[v]:
            c, zc = int(col[v]), float(z[v, col[v]])
            what = "side A" if c == m else names[c]
            parts.append(f"{'favours' if zc > 0 else 'disfavours'} {what} z={zc:+.1f}")
        reasons.append("; ".join(parts))
    return GroupAudit(flagged, tuple(reasons), history, fit, one)


@dataclass(frozen=True, eq=False)
class AuditResult:
    """What :func:`audit` found.

    ``voters`` (and ``networks``, when given) hold per-group flags and reasons
    (empty for an unflagged group); ``drift`` the flagged (time bucket, model)
    cells; ``suspicious`` marks the votes to leave out: all votes of flagged
    voters and networks, the model's votes in flagged drift cells, and single
    votes below ``min_vote_probability``.
    """

    voters: GroupAudit
    networks: GroupAudit | None
    drift: tuple[DriftCell, ...]
    suspicious: BoolArray
    vote_probability: FloatArray

    @property
    def flagged(self) -> BoolArray:
        return self.voters.flagged

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.voters.reasons


def audit(
    voter: IndexArray, a: IndexArray, b: IndexArray, outcome: IndexArray, *,
    network: IndexArray | None = None, time: FloatArray | None = None,
    n_models: int | None = None, fdr: float = DEFAULT_FDR, min_votes: int = DEFAULT_MIN_VOTES,
    min_model_votes: int = DEFAULT_MIN_MODEL_VOTES, drift_seconds: float = DEFAULT_DRIFT_SECONDS,
    min_vote_probability: float = 0.0, rounds: int = 2, l2: float = DEFAULT_L2,
    model_names: tuple[str, ...] | None = None,
) -> AuditResult:
    """Flag anomalous voters (and networks, and bursts) and mark the votes to leave out.

    Parameters
    ----------
    voter, a, b, outcome : ndarray of int, shape (n_votes,)
        Voter index (``0 .. n_voters - 1``), model indices,
        :class:`~ratings.data.Outcome` codes.
    network : ndarray of int, shape (n_votes,), optional
        A second grouping tested like voters, e.g. the hashed client address:
        many voter ids behind one address are one group here.
    time : ndarray of float, shape (n_votes,), optional
        Vote times in seconds; enables the drift test per ``drift_seconds``
        bucket (default one day).
    n_models : int, optional
        Defaults to one more than the largest model index.
    fdr : float
        False discovery rate of each test's Benjamini-Hochberg correction
        over the groups (or cells) tested (default 0.01).
    min_votes : int
        Groups with fewer votes are not tested by the pair-history and
        person-fit tests (default 10).
    min_model_votes : int
        Votes a group needs on one model (or in all, for the A side) before
        the one-model and drift tests look at it (default 8).
    min_vote_probability : float
        Also mark single votes whose outcome had a smaller probability under
        the final fit (default 0: off).
    rounds : int
        Fit-and-test rounds; each refits without the votes of flagged groups
        and of drift cells where a model did better than its strength
        (default 2).
    l2 : float
        Prior precision of the Bradley-Terry-Davidson fit (default 1e-3).
    model_names : tuple of str, optional
        Names used in the reasons (default ``m<index>``).
    """
    m = int(max(a.max(), b.max())) + 1 if n_models is None else n_models
    names = model_names or tuple(f"m{k}" for k in range(m))
    groups = [voter] if network is None else [voter, network]
    histories = [
        pair_history_test(g, a, b, outcome, m, int(g.max()) + 1, fdr=fdr, min_votes=min_votes)
        for g in groups
    ]
    unfit = np.zeros(a.shape[0], dtype=bool)
    for h, g in zip(histories, groups, strict=True):
        unfit |= h.flagged[g]
    for _ in range(max(rounds, 1)):
        probs = outcome_probabilities(a, b, outcome, m, keep=~unfit, l2=l2)
        found = [
            _group_audit(g, a, b, outcome, probs, h, names, fdr=fdr, min_votes=min_votes,
                         min_model_votes=min_model_votes)
            for g, h in zip(groups, histories, strict=True)
        ]
        pobs = probs[np.arange(probs.shape[0]), outcome]
        by_group = np.zeros(a.shape[0], dtype=bool)
        for res, g in zip(found, groups, strict=True):
            by_group |= res.flagged[g]
        suspicious = by_group | (pobs < min_vote_probability)
        cells: tuple[DriftCell, ...] = ()
        if time is not None:  # bursts among the votes of unflagged voters only
            rest = ~by_group
            cells, burst, rising = drift_test(
                time[rest], a[rest], b[rest], outcome[rest], probs[rest], m,
                seconds=drift_seconds, fdr=fdr, min_model_votes=min_model_votes)
            suspicious[rest] |= burst
            by_group[rest] |= rising
        # a cell selected for doing badly is left in the fit: dropping it would bias the fit up
        unfit = by_group
    return AuditResult(found[0], found[1] if network is not None else None, cells, suspicious, pobs)


__all__ = [
    "DEFAULT_FDR",
    "DEFAULT_L2",
    "DEFAULT_MIN_MODEL_VOTES",
    "DEFAULT_MIN_VOTES",
    "DEFAULT_DRIFT_SECONDS",
    "AuditResult",
    "DriftCell",
    "GroupAudit",
    "VoterTest",
    "audit",
    "benjamini_hochberg",
    "chi2_sf_even",
    "drift_test",
    "normal_cdf",
    "one_model_scores",
    "one_model_test",
    "outcome_probabilities",
    "pair_history_pvalues",
    "pair_history_test",
    "person_fit_test",
]
