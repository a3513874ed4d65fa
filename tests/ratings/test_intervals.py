"""Interval coverage on simulated data with known strengths, and sandwich details."""

from __future__ import annotations

import numpy as np
import pytest

from ratings import RatingsWarning, aggregate, battles_from_arrays, compute_leaderboard
from ratings.bradley_terry import fit_newton, successes
from ratings.graph import component_labels, component_projector
from ratings.intervals import (
    bt_bootstrap,
    bt_sandwich,
    contrast_sd,
    normal_quantile,
    percentile_bounds,
)

from .conftest import simulate

N_DATASETS = 200
COVERAGE_RANGE = (0.93, 0.97)
TRUE_THETA = np.array([-0.9, -0.4, 0.0, 0.2, 0.5, 0.6])
N_BATTLES = 1500
BOOT_ROUNDS = 200


def test_sandwich_and_bootstrap_cover_the_truth() -> None:
    rng = np.random.default_rng(20240220)
    truth = TRUE_THETA - TRUE_THETA.mean()
    z = normal_quantile(0.95)
    hits_sw = hits_bs = total = 0
    for _ in range(N_DATASETS):
        pc = aggregate(simulate(TRUE_THETA, N_BATTLES, rng))
        s, n = successes(pc.wsum, "half")
        proj = component_projector(component_labels(6, pc.i, pc.j))
        theta = fit_newton(pc.i, pc.j, s, n, 6, projector=proj)
        sd = contrast_sd(bt_sandwich(pc, theta, projector=proj), None)
        hits_sw += int(np.sum(np.abs(theta - truth) <= z * sd))
        labels = component_labels(6, pc.i, pc.j)
        boot, valid = bt_bootstrap(
            pc, rounds=BOOT_ROUNDS, rng=rng, projector=proj, theta0=theta, labels=labels
        )
        assert valid.all()
        lo, hi = percentile_bounds(boot, 0.95)
        hits_bs += int(np.sum((lo <= truth) & (truth <= hi)))
        total += 6
    assert COVERAGE_RANGE[0] <= hits_sw / total <= COVERAGE_RANGE[1], hits_sw / total
    assert COVERAGE_RANGE[0] <= hits_bs / total <= COVERAGE_RANGE[1], hits_bs / total


def test_sandwich_equals_model_based_covariance_for_binary_data() -> None:
    # Without ties and at the MLE, J and H agree in expectation; with the
    # observed counts the diagonal of both inverses should be close.
    rng = np.random.default_rng(5)
    battles = simulate(TRUE_THETA, 50_000, rng)
    pc = aggregate(battles)
    s, n = successes(pc.wsum, "half")
    proj = component_projector(component_labels(6, pc.i, pc.j))
    theta = fit_newton(pc.i, pc.j, s, n, 6, projector=proj)
    # Fisher information sum_k p_k (1 - p_k) (e_a - e_b)(e_a - e_b)^T over the battles,
    # inverted on the sum-zero subspace (Moore-Penrose)
    p = 1 / (1 + np.exp(-(theta[battles.a] - theta[battles.b])))
    diff = np.eye(6)[battles.a] - np.eye(6)[battles.b]
    model_cov = np.linalg.pinv((diff * (p * (1 - p))[:, None]).T @ diff)
    np.testing.assert_allclose(
        np.diag(bt_sandwich(pc, theta, projector=proj)), np.diag(model_cov), rtol=0.05
    )


def test_chord_bootstrap_equals_full_newton() -> None:
    rng = np.random.default_rng(9)
    pc = aggregate(simulate(TRUE_THETA, 2000, rng, tie_rate=0.1))
    s, n = successes(pc.wsum, "half")
    for l2 in (0.0, 0.5):
        proj = component_projector(component_labels(6, pc.i, pc.j))
        theta = fit_newton(pc.i, pc.j, s, n, 6, l2=l2, projector=proj)
        fast, _ = bt_bootstrap(
            pc, rounds=30, rng=np.random.default_rng(2), l2=l2, projector=proj, theta0=theta
        )
        slow, _ = bt_bootstrap(pc, rounds=30, rng=np.random.default_rng(2), l2=l2, projector=proj)
        np.testing.assert_allclose(fast, slow, atol=1e-8)


def test_bootstrap_is_seeded() -> None:
    rng = np.random.default_rng(6)
    pc = aggregate(simulate(TRUE_THETA, 500, rng))
    proj = component_projector(component_labels(6, pc.i, pc.j))
    a, _ = bt_bootstrap(pc, rounds=20, rng=np.random.default_rng(1), projector=proj)
    b, _ = bt_bootstrap(pc, rounds=20, rng=np.random.default_rng(1), projector=proj)
    np.testing.assert_array_equal(a, b)


def test_sparse_bootstrap_rounds_without_mle_are_flagged() -> None:
    # 8 battles: many resamples leave some model without a loss or a win
    data = battles_from_arrays(
        ["p", "q", "r", "p", "q", "r", "p", "q"],
        ["q", "r", "p", "r", "p", "q", "q", "r"],
        ["model_a"] * 6 + ["tie", "tie"],
    )
    with pytest.warns(RatingsWarning, match=r"of 200 bootstrap rounds had no finite"):
        board = compute_leaderboard(data, ci="bootstrap", bootstrap_rounds=200, seed=1)
    assert all(abs(r.upper - r.lower) < 2000 for r in board.rows)
    assert not compute_leaderboard(data, ci="bootstrap", bootstrap_rounds=50, l2=1.0).warnings
