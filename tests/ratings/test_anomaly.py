"""Anomalous-voter tests: hand-checked small cases and a seeded simulation with planted voters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ratings.anomaly import AuditResult, audit, flood_weights, newcomers, time_buckets
from ratings.anomaly_stats import (
    benjamini_hochberg,
    chi2_sf_even,
    normal_cdf,
    one_model_scores,
    pair_history_pvalues,
    person_fit_test,
)

RECALL_MIN = 0.90
HONEST_FLAGGED_MAX = 0.05
CHUNKED_RTOL = 1e-12  # sums over all votes added a chunk at a time: the last bits may move


def _arr(*xs: list[int]) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(x, dtype=np.int64) for x in xs)


def _history_case() -> tuple[np.ndarray, ...]:
    """Voter 0 holds the history of pair (0, 1): A 6, B 3, tie 1; voter 1 casts its own votes."""
    out = [0] * 6 + [1] * 3 + [2]
    voter = [0] * 10 + [1, 1, 1, 1]
    # voter 1: a tie, B wins, A wins, and a tie with the sides swapped (model 1 as A)
    a = [0] * 10 + [0, 0, 0, 1]
    b = [1] * 10 + [1, 1, 1, 0]
    return _arr(voter, a, b, out + [2, 1, 0, 2])


def test_pair_history_pvalue_by_hand() -> None:
    voter, a, b, out = _history_case()
    p = pair_history_pvalues(voter, a, b, out, 2)
    # tie: only ties are as rare -> (1 + 1) / 11; B: B and tie -> (1 + 3 + 1) / 11; A: all -> 1
    assert p[10:] == pytest.approx([2 / 11, 5 / 11, 1.0, 2 / 11])


def test_pair_history_leaves_the_voter_out() -> None:
    voter, a, b, out = _history_case()
    p = pair_history_pvalues(voter, a, b, out, 2)
    # voter 0's history is voter 1's 4 votes: A 1, B 1, tie 2; an A vote ties B for rarest
    assert p[0] == pytest.approx((1 + 1 + 1) / 5)
    assert p[9] == pytest.approx((1 + 4) / 5)


def test_mid_p_counts_equal_outcomes_by_half() -> None:
    voter, a, b, out = _history_case()
    p = pair_history_pvalues(voter, a, b, out, 2, mid_p=True)
    # tie: nothing rarer, 1 equal -> (0 + (1 + 1) / 2) / 11; B: tie rarer -> (1 + (3 + 1) / 2) / 11
    assert p[10:12] == pytest.approx([1 / 11, 3 / 11])


def test_chi2_tail_against_closed_forms_and_table() -> None:
    x = np.array([3.0, 3.0, 9.488, 0.0])
    k = np.array([1, 2, 2, 3])
    got = chi2_sf_even(x, k)
    assert got[0] == pytest.approx(math.exp(-1.5))
    assert got[1] == pytest.approx(math.exp(-1.5) * 2.5)
    assert got[2] == pytest.approx(0.05, abs=1e-4)  # chi2(4) 95% point from a printed table
    assert got[3] == 1.0


def test_benjamini_hochberg_by_hand() -> None:
    got = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]), 0.05)
    assert got.tolist() == [True, False, False, False]
    assert benjamini_hochberg(np.array([0.03, 0.01, 0.02]), 0.05).all()


def test_normal_cdf_tail() -> None:
    assert normal_cdf(np.array([-1.959964]))[0] == pytest.approx(0.025, abs=1e-6)


def test_one_model_z_by_hand() -> None:
    # 20 votes of voter 0, model 0 always wins against equal models (P = 1/2 each way, no ties)
    n = 20
    voter, a, b = _arr([0] * n, [0] * n, [1 + k % 3 for k in range(n)])
    out = np.zeros(n, dtype=np.int64)
    probs = np.tile([0.5, 0.5, 0.0], (n, 1))
    z, col, tested = one_model_scores(voter, a, b, out, probs, 4, 1, min_model_votes=5)
    assert z[0, 0] == pytest.approx(n * 0.5 / math.sqrt(n * 0.25))
    assert col[0] == 0  # model 0 (tied with side A, which is always model 0 here)
    assert tested[0] == 5  # models 0 (20 votes), 1 (7), 2 (7), 3 (6) and side A (20)
    assert z[0, 1] == pytest.approx(-7 * 0.5 / math.sqrt(7 * 0.25))


def test_person_fit_by_hand() -> None:
    probs = np.array([[0.8, 0.2, 0.0], [0.6, 0.2, 0.2]])
    voter, out = _arr([0, 0], [1, 0])
    pa = np.array([0.8, 0.75])  # second vote: P(A | decisive) = 0.6 / 0.8
    mean = pa * np.log(pa) + (1 - pa) * np.log(1 - pa)
    var = pa * np.log(pa) ** 2 + (1 - pa) * np.log(1 - pa) ** 2 - mean**2
    obs = np.log([0.2, 0.75])
    want = (obs - mean).sum() / math.sqrt(var.sum())
    got = person_fit_test(voter, out, probs, 1, min_votes=1)
    assert -got.statistic[0] == pytest.approx(want)
    assert got.pvalue[0] == pytest.approx(0.5 * math.erfc(-want / math.sqrt(2)))


def _simulate(seed: int) -> tuple[tuple[np.ndarray, ...], int, int, np.ndarray]:
    """Honest voters (Bradley-Terry with per-voter attention and tie rate, geometric vote counts)
    then 25 uniformly random voters and 25 always-one-model voters, 100-200 votes each."""
    rng = np.random.default_rng(seed)
    m, n_honest = 30, 1000
    theta = np.sort(rng.normal(0.0, 1.0, m))
    voter = np.repeat(np.arange(n_honest), rng.geometric(1 / 40, n_honest))
    n = voter.shape[0]
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    attention = rng.uniform(0.6, 1.0, n_honest)[voter]
    tie = rng.beta(3, 17, n_honest)[voter]
    p_a = 1 / (1 + np.exp(-attention * (theta[a] - theta[b])))
    out = np.where(rng.random(n) < tie, 2, np.where(rng.random(n) < p_a, 0, 1))
    parts = [(voter, a, b, out)]
    favourite = rng.integers(0, m, 25)
    for v in range(50):
        k = int(rng.integers(100, 200))
        if v < 25:
            pa = rng.integers(0, m, k)
            pb = (pa + rng.integers(1, m, k)) % m
            po = rng.integers(0, 3, k)
        else:
            fav = favourite[v - 25]
            other = (fav + rng.integers(1, m, k)) % m
            swap = rng.random(k) < 0.5
            pa, pb, po = np.where(swap, other, fav), np.where(swap, fav, other), swap.astype(int)
        parts.append((np.full(k, n_honest + v), pa, pb, po))
    cols = tuple(np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(4))
    return cols, n_honest, m, favourite


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_audit_finds_planted_voters(seed: int) -> None:
    (voter, a, b, out), n_honest, m, favourite = _simulate(seed)
    result = audit(voter, a, b, out)
    planted = result.flagged[n_honest:]
    assert planted.mean() >= RECALL_MIN
    assert result.flagged[:n_honest].mean() <= HONEST_FLAGGED_MAX
    reasons = result.reasons[n_honest + 25 :]
    named = [f"favours m{fav} " in r for fav, r in zip(favourite, reasons, strict=True)]
    assert sum(named) >= 20
    assert np.array_equal(result.suspicious, result.flagged[voter])
    assert all(bool(r) == f for r, f in zip(result.reasons, result.flagged, strict=True))


def test_newcomers_and_flood_weights_by_hand() -> None:
    day = 86_400.0
    voter = np.array([0, 0, 1, 2, 2])
    t = np.array([0.0, 1.5, 1.2, 3.1, 3.9]) * day
    assert newcomers(voter, t, day).tolist() == [False, False, True, True, True]
    t = np.array([0.5, 1.5, 2.5] + [3.5] * 10) * day  # median bucket 1 vote, cap 2
    assert flood_weights(t, day).tolist() == [1.0] * 3 + [0.2] * 10


def _with_attacks(seed: int) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray, int, int]:
    """The honest voters of :func:`_simulate` over 30 days (own address each), then 40 ids of 5
    votes behind one address and 300 one-vote ids on day 12, all voting for model 3."""
    (voter, a, b, out), n_honest, m, _fav = _simulate(seed)
    keep = voter < n_honest
    voter, a, b, out = voter[keep], a[keep], b[keep], out[keep]
    rng = np.random.default_rng(seed + 100)
    t = rng.uniform(0, 30 * 86_400.0, voter.shape[0])
    ids = np.concatenate([n_honest + np.repeat(np.arange(40), 5), n_honest + 40 + np.arange(300)])
    k = ids.shape[0]
    other = (3 + rng.integers(1, m, k)) % m
    swap = rng.random(k) < 0.5
    cols = (
        np.concatenate([voter, ids]),
        np.concatenate([a, np.where(swap, other, 3)]),
        np.concatenate([b, np.where(swap, 3, other)]),
        np.concatenate([out, swap.astype(np.int64)]),
    )
    network = np.concatenate([voter, np.full(200, n_honest), n_honest + 1 + np.arange(300)])
    times = np.concatenate([t, rng.uniform(0, 30 * 86_400.0, 200),
                            12.25 * 86_400.0 + rng.uniform(0, 3600.0, 300)])
    return cols, network, times, n_honest, voter.shape[0]


def test_audit_finds_many_ids_behind_one_address_and_a_burst() -> None:
    (voter, a, b, out), network, t, n_honest, n = _with_attacks(1)
    result = audit(voter, a, b, out, network=network, time=t)
    assert result.networks is not None
    assert result.networks.flagged[n_honest]  # the 40 ids of 5 votes share it
    assert "favours m3" in result.networks.reasons[n_honest]
    assert not result.voters.flagged[n_honest : n_honest + 40].any()  # too few votes each
    assert result.suspicious[n : n + 200].all()
    assert any(c.model == 3 and c.z > 0 and c.start == 12 * 86_400.0 for c in result.drift)
    assert result.suspicious[n + 200 :].mean() >= 0.95  # the burst, blamed on its one-day ids
    assert result.suspicious[:n].mean() <= 0.001  # honest votes of that day stay


@pytest.mark.parametrize(
    ("voter", "a", "b", "out"),
    [
        ([0], [0], [1], [0]),  # one vote
        ([0, 1, 1], [0, 1, 0], [1, 2, 2], [2, 2, 2]),  # only ties
        ([0, 0, 1], [0, 1, 2], [1, 2, 0], [0, 1, 0]),  # no ties
    ],
)
def test_audit_of_a_tiny_arena_flags_nobody(
    voter: list[int], a: list[int], b: list[int], out: list[int]
) -> None:
    v, ma, mb, o = _arr(voter, a, b, out)
    t = np.arange(v.shape[0]) * 90_000.0
    result = audit(v, ma, mb, o, network=v, time=t)
    assert not result.flagged.any() and not result.suspicious.any()
    assert np.all(np.isfinite(result.vote_probability))


def _outputs(result: AuditResult) -> tuple[dict[str, np.ndarray], tuple[object, ...]]:
    """Every array of an audit (floats), and everything compared exactly (flags, reasons)."""
    floats: dict[str, np.ndarray] = {"vote_probability": result.vote_probability}
    exact: list[object] = [result.suspicious.tolist(), [(c.start, c.model) for c in result.drift]]
    floats["drift_z"] = np.array([c.z for c in result.drift])
    for name, found in (("voters", result.voters), ("networks", result.networks)):
        assert found is not None
        exact += [found.flagged.tolist(), found.reasons]
        for test in ("pair_history", "person_fit", "one_model"):
            got = getattr(found, test)
            floats[f"{name}.{test}.statistic"], floats[f"{name}.{test}.pvalue"] = (
                got.statistic, got.pvalue)
            exact.append(got.flagged.tolist())
    return floats, tuple(exact)


def _every_attack(seed: int) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """:func:`_with_attacks` and the planted voters of :func:`_simulate` (own address each,
    times over the 30 days): int32 codes, int8 outcomes, as the product reads them."""
    (voter, a, b, out), network, t, n_honest, _n = _with_attacks(seed)
    (sv, sa, sb, so), _, _, _ = _simulate(seed)
    planted = sv >= n_honest
    ids = sv[planted] + 340  # after the 340 attack ids
    t_planted = np.random.default_rng(seed).uniform(0, 30 * 86_400.0, ids.shape[0])
    cols = [np.concatenate(x).astype(np.int32) for x in (
        (voter, ids), (a, sa[planted]), (b, sb[planted]), (network, ids + 301))]
    return (*cols, np.concatenate([out, so[planted]]).astype(np.int8)), np.concatenate(
        [t, t_planted])


@pytest.mark.parametrize("chunk", [97, 4096])
def test_audit_in_small_chunks_matches_one_pass(chunk: int) -> None:
    """Blocks of a few voters (heavy voters alone, over the chunk), sums a chunk at a time."""
    (voter, a, b, network, out), t = _every_attack(2)
    args = (voter, a, b, out)
    whole = audit(*args, network=network, time=t, chunk=1 << 30)
    assert whole.voters.flagged.any() and whole.networks is not None
    assert whole.networks.flagged.any() and whole.drift
    floats, exact = _outputs(whole)
    got_floats, got_exact = _outputs(audit(*args, network=network, time=t, chunk=chunk))
    assert got_exact == exact
    for key, value in floats.items():
        np.testing.assert_allclose(got_floats[key], value, rtol=CHUNKED_RTOL, atol=0.0,
                                   err_msg=key)


def test_time_buckets_match_a_sort_of_every_bucket() -> None:
    rng = np.random.default_rng(5)
    day = 86_400.0
    late = np.concatenate([[0.0], rng.uniform(1e9, 1e9 + 9 * day, 99)])  # a time missing: 0
    # the last: more than 2^24 buckets, counted by a sort
    cases = [(rng.uniform(0, 40 * day, 5000), day), (late, day), (late, 1e-3)]
    for t, seconds in cases:
        got = time_buckets(t, seconds, chunk=64)
        starts, inv, size = np.unique(np.floor(t / seconds).astype(np.int64),
                                      return_inverse=True, return_counts=True)
        assert got.starts.tolist() == starts.tolist() and got.size.tolist() == size.tolist()
        assert got.code.tolist() == inv.tolist()
