"""Anomalous voters and implausible votes: the tests behind ``arena voters audit``.

Votes come as integer-coded arrays: ``voter`` (a voter id, or any grouping of
votes such as a network address), ``a``/``b`` (model indices), ``outcome``
(:class:`ratings.data.Outcome` codes: 0 A wins, 1 B wins, 2 tie) and, for the
drift test, vote times.  Each test gives every group a p-value, corrected for
the number of groups tested by the Benjamini-Hochberg step-up rule (Benjamini
& Hochberg 1995, "Controlling the false discovery rate", JRSS B 57(1)):

* **Pair history** (Chiang et al. 2024, "Chatbot Arena: An Open Platform for
  Evaluating LLMs by Human Preference", ICML, section 5): each vote is ranked
  against the history ``H`` of its model pair made of the *other* voters'
  votes, ``p = (1 + #{h in H at least as extreme}) / (|H| + 1)``; outcomes are
  unordered categories here, so "at least as extreme" means "at most as
  frequent in ``H``".  A voter's p-values are combined by Fisher's method,
  ``-2 sum log p ~ chi2(2k)`` (Fisher 1925).  The audit uses mid-p values
  (Lancaster 1961), which keep Fisher's combination from being conservative,
  and leaves ties out, since honest voters differ in how often they tie.
* **Person fit** against a fitted model: Bradley-Terry with Davidson ties
  (:mod:`ratings.ties`) gives each decisive vote the probability ``pi`` of
  its outcome; the standardised log-likelihood
  ``l_z = sum(log pi - E log pi) / sqrt(sum Var log pi)`` (Drasgow, Levine &
  Williams 1985, "Appropriateness measurement with polychotomous item
  response models and standardized indices", Brit. J. Math. Stat. Psych.
  38) is about N(0, 1) for an honest voter and very negative for one who
  votes at random or against the strengths.
* **One model**, against the rigging strategies of Min et al. 2025
  ("Improving Your Model Ranking on Chatbot Arena by Vote Rigging", ICML):
  for each model, the standardised residual ``sum(y - E y) / sqrt(sum Var
  y)`` of its score (1 win, 1/2 tie, 0 loss) in a voter's votes; one who
  always votes for a model, against a rival (their "omnipresent" strategy)
  or for one side stands out.  The largest ``|z|`` over the models and the A
  side, with a Bonferroni factor for the columns tested.
* **Drift**: the same residual per (time bucket, model) over the votes of
  unflagged voters: a burst of votes for or against one model, such as a
  botnet's, whatever identities cast it.

The audit runs the first three on voters (and on network addresses, when
given), then the drift test.  The model is refitted without the votes of
flagged groups and of over-performing drift cells until the flags settle (an
attacker's votes otherwise bend the strengths they are tested against).
Suspicious votes: all votes of flagged voters and addresses, a flagged drift
cell's votes of its model, and optionally single votes whose outcome had a
probability below ``min_vote_probability`` (off by default: every upset is
also an honest vote somewhere).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ratings.anomaly_stats import (
    DEFAULT_FDR,
    DEFAULT_L2,
    DEFAULT_MIN_MODEL_VOTES,
    DEFAULT_MIN_VOTES,
    VoterTest,
    benjamini_hochberg,
    normal_cdf,
    one_model_scores,
    one_model_test,
    outcome_probabilities,
    pair_history_test,
    person_fit_test,
)
from ratings.typing import BoolArray, FloatArray, IndexArray

DEFAULT_DRIFT_SECONDS = 86_400.0


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
    min_vote_probability: float = 0.0, rounds: int = 5, l2: float = DEFAULT_L2,
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
        At most this many fit-and-test rounds (default 5); each refits
        without the votes of flagged groups and of drift cells where a model
        did better than its strength, until those stop changing (a large
        attack bends the first fit so far that its own votes look expected).
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
        fitted_without = unfit
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
        if np.array_equal(unfit, fitted_without):
            break
    return AuditResult(found[0], found[1] if network is not None else None, cells, suspicious, pobs)




__all__ = [
    "DEFAULT_DRIFT_SECONDS",
    "AuditResult",
    "DriftCell",
    "GroupAudit",
    "audit",
    "drift_test",
]
