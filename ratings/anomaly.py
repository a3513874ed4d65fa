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
attacker's votes otherwise bend the strengths they are tested against); with
vote times, no time bucket weighs more than twice the median one in the
references (pair histories, fits), so a flood cannot capture them.
Suspicious votes: all votes of flagged voters and addresses, a flagged drift
cell's votes of its model cast by voters seen in no other bucket, and
optionally single votes whose outcome had a probability below
``min_vote_probability`` (off by default: every upset is also an honest vote
somewhere).

The audit runs inside a serving process and must not need memory in
proportion to votes times models: the tests go over the votes a block of
voters (or addresses, or a chunk of votes) at a time
(:mod:`ratings.anomaly_blocks`, :mod:`ratings.anomaly_time`), with the same
results as one pass up to the last bits of sums over all votes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ratings.anomaly_blocks import (
    GroupBlocks,
    OutcomeModel,
    fit_outcome_model,
    fit_tests,
    group_blocks,
    pair_history_test,
)
from ratings.anomaly_stats import (
    DEFAULT_CHUNK,
    DEFAULT_FDR,
    DEFAULT_L2,
    DEFAULT_MIN_MODEL_VOTES,
    DEFAULT_MIN_VOTES,
    VoterTest,
)
from ratings.anomaly_time import (
    DEFAULT_DRIFT_SECONDS,
    FLOOD_CAP,
    DriftCell,
    TimeBuckets,
    bucket_weights,
    drift_test,
    flood_weights,
    newcomers,
    time_buckets,
)
from ratings.typing import BoolArray, FloatArray, IndexArray


@dataclass(frozen=True, eq=False)
class GroupAudit:
    """The three tests on one grouping of the votes (voters, or network addresses)."""

    flagged: BoolArray
    reasons: tuple[str, ...]
    pair_history: VoterTest
    person_fit: VoterTest
    one_model: VoterTest


def _group_audit(
    group: IndexArray, a: IndexArray, b: IndexArray, outcome: IndexArray, model: OutcomeModel,
    history: VoterTest, blocks: GroupBlocks, names: tuple[str, ...], *, fdr: float,
    min_votes: int, min_model_votes: int,
) -> GroupAudit:
    m = len(names)
    found = fit_tests(group, a, b, outcome, model, m, blocks, fdr=fdr, min_votes=min_votes,
                      min_model_votes=min_model_votes)
    fit, one = found.person_fit, found.one_model
    flagged = history.flagged | fit.flagged | one.flagged
    reasons = [""] * flagged.shape[0]
    for v in np.flatnonzero(flagged):
        parts = []
        if history.flagged[v]:
            parts.append(f"pair history p={history.pvalue[v]:.1e}")
        if fit.flagged[v]:
            parts.append(f"implausible outcomes l_z={-fit.statistic[v]:.1f}")
        if one.flagged[v]:
            c, zc = int(found.column[v]), float(found.z[v])
            what = "side A" if c == m else names[c]
            parts.append(f"{'favours' if zc > 0 else 'disfavours'} {what} z={zc:+.1f}")
        reasons[v] = "; ".join(parts)
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
    model_names: tuple[str, ...] | None = None, chunk: int = DEFAULT_CHUNK,
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
        bucket (default one day) and holds every bucket to ``FLOOD_CAP``
        times the median bucket's weight in the references.
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
        At most this many test rounds (default 5); each rebuilds the pair
        histories and refits without the votes of flagged groups and of
        drift cells where a model did better than its strength, until those
        stop changing (a large attack bends the first references so far that
        its own votes look expected).
    l2 : float
        Prior precision of the Bradley-Terry-Davidson fit (default 1e-3).
    model_names : tuple of str, optional
        Names used in the reasons (default ``m<index>``).
    chunk : int
        Votes per chunk, and groups' votes per block (:mod:`ratings.anomaly_blocks`):
        memory, not results (up to the last bits of sums over all votes).
    """
    m = int(max(a.max(), b.max())) + 1 if n_models is None else n_models
    names = model_names or tuple(f"m{k}" for k in range(m))
    groups = [voter] if network is None else [voter, network]
    blocks = [group_blocks(g, int(g.max()) + 1, cols=m + 1, chunk=chunk) for g in groups]
    buckets = None if time is None else time_buckets(time, drift_seconds, chunk=chunk)
    weight = None if buckets is None else bucket_weights(buckets)
    newcomer = None
    if time is not None and buckets is not None:
        newcomer = newcomers(voter, time, drift_seconds, buckets=buckets, chunk=chunk)
    unfit = np.zeros(a.shape[0], dtype=bool)
    for _ in range(max(rounds, 1)):
        fitted_without = unfit
        histories = [
            pair_history_test(g, a, b, outcome, m, bl, fdr=fdr, min_votes=min_votes,
                              weight=weight, exclude=unfit, chunk=chunk)
            for g, bl in zip(groups, blocks, strict=True)
        ]
        keep = ~unfit
        for h, g in zip(histories, groups, strict=True):
            keep &= ~h.flagged[g]
        model = fit_outcome_model(a, b, outcome, m, keep=keep, weight=weight, l2=l2, chunk=chunk)
        del keep
        found = [
            _group_audit(g, a, b, outcome, model, h, bl, names, fdr=fdr, min_votes=min_votes,
                         min_model_votes=min_model_votes)
            for g, h, bl in zip(groups, histories, blocks, strict=True)
        ]
        by_group = np.zeros(a.shape[0], dtype=bool)
        for res, g in zip(found, groups, strict=True):
            by_group |= res.flagged[g]
        suspicious = by_group.copy()
        cells: tuple[DriftCell, ...] = ()
        if buckets is not None:  # bursts among the votes of unflagged voters only
            cells, burst, rising = drift_test(
                buckets, a, b, outcome, model, m, fdr=fdr, min_model_votes=min_model_votes,
                rest=~by_group, blame=newcomer, chunk=chunk)
            suspicious |= burst
            by_group |= rising
            del burst, rising
        # a cell selected for doing badly is left in the fit: dropping it would bias the fit up
        unfit = by_group
        if np.array_equal(unfit, fitted_without):
            break
    pobs = model.observed(a, b, outcome, chunk=chunk)
    suspicious |= pobs < min_vote_probability
    return AuditResult(found[0], found[1] if network is not None else None, cells, suspicious, pobs)


__all__ = [
    "DEFAULT_DRIFT_SECONDS",
    "FLOOD_CAP",
    "AuditResult",
    "DriftCell",
    "GroupAudit",
    "TimeBuckets",
    "audit",
    "bucket_weights",
    "drift_test",
    "flood_weights",
    "newcomers",
    "time_buckets",
]
