"""Bradley-Terry fit: textbook example, derivative checks, batching, MLE existence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ratings import RatingsFitError, aggregate, battles_from_arrays, compute_leaderboard
from ratings.bradley_terry import fit_newton, gradient, log_likelihood, neg_hessian, successes
from ratings.graph import component_labels, component_projector

from .conftest import simulate

# Wikipedia, "Bradley-Terry model", worked example: wins of the row team over the column team.
WIKI_WINS = np.array([[0, 2, 0, 1], [3, 0, 5, 0], [0, 3, 0, 1], [4, 0, 3, 0]])
WIKI_STRENGTHS = np.array([0.640, 1.043, 0.660, 2.270])  # normalised to geometric mean 1
WIKI_TOL = 5e-4  # the published values have three decimals
DERIV_TOL = 1e-6


def wiki_battles():
    a, b = [], []
    for i in range(4):
        for j in range(4):
            a += [i] * int(WIKI_WINS[i, j])
            b += [j] * int(WIKI_WINS[i, j])
    return battles_from_arrays(
        np.array(a), np.array(b), np.zeros(len(a), dtype=np.int8), models=list("ABCD")
    )


def test_wikipedia_worked_example() -> None:
    pc = aggregate(wiki_battles())
    s, n = successes(pc.wsum, "half")
    theta = fit_newton(
        pc.i, pc.j, s, n, 4, projector=component_projector(component_labels(4, pc.i, pc.j))
    )
    assert abs(theta.sum()) < 1e-12  # centred: geometric mean of strengths is 1
    np.testing.assert_allclose(np.exp(theta), WIKI_STRENGTHS, atol=WIKI_TOL)
    board = compute_leaderboard(wiki_battles())
    assert board.rows[0].model == "D"
    assert math.isclose(board.row("D").rating, 1000 + 400 * math.log10(2.270), abs_tol=0.1)


def test_gradient_and_hessian_match_finite_differences() -> None:
    rng = np.random.default_rng(1)
    pc = aggregate(simulate(rng.normal(0, 1, 5), 400, rng, tie_rate=0.2))
    s, n = successes(pc.wsum, "half")
    theta = rng.normal(0, 0.5, 5)
    h = 1e-5
    eye = np.eye(5)
    num_g = np.array(
        [
            (
                log_likelihood(theta + h * e, pc.i, pc.j, s, n)
                - log_likelihood(theta - h * e, pc.i, pc.j, s, n)
            )
            / (2 * h)
            for e in eye
        ]
    )
    np.testing.assert_allclose(
        gradient(theta, pc.i, pc.j, s, n), num_g, rtol=DERIV_TOL, atol=DERIV_TOL
    )
    num_h = np.array(
        [
            (gradient(theta + h * e, pc.i, pc.j, s, n) - gradient(theta - h * e, pc.i, pc.j, s, n))
            / (2 * h)
            for e in eye
        ]
    )
    np.testing.assert_allclose(
        -neg_hessian(theta, pc.i, pc.j, n), num_h, rtol=DERIV_TOL, atol=DERIV_TOL
    )


def test_fit_is_stationary_and_batched_equals_single() -> None:
    rng = np.random.default_rng(2)
    pc = aggregate(simulate(rng.normal(0, 1, 6), 3000, rng, tie_rate=0.1))
    s, n = successes(pc.wsum, "half")
    proj = component_projector(component_labels(6, pc.i, pc.j))
    theta = fit_newton(pc.i, pc.j, s, n, 6, projector=proj)
    assert np.max(np.abs(gradient(theta, pc.i, pc.j, s, n))) < 1e-8
    for l2 in (0.0, 0.3):
        single = fit_newton(pc.i, pc.j, s, n, 6, l2=l2, projector=proj)
        batch = fit_newton(
            pc.i, pc.j, np.stack([s, 2 * s]), np.stack([n, 2 * n]), 6, l2=l2, projector=proj
        )
        np.testing.assert_allclose(batch[0], single, atol=1e-9)
        assert np.max(np.abs(gradient(single, pc.i, pc.j, s, n) - l2 * single)) < 1e-8


def test_ties_half_equals_duplicated_win_each_way() -> None:
    tied = battles_from_arrays(["p", "q", "p"], ["q", "r", "r"], ["tie", "model_a", "model_b"])
    dup = battles_from_arrays(
        ["p", "q", "q", "q", "p", "p"],
        ["q", "p", "r", "r", "r", "r"],
        ["model_a"] * 4 + ["model_b"] * 2,
    )
    for l2 in (0.0, 0.5):
        r1 = compute_leaderboard(tied, l2=l2)
        r2 = compute_leaderboard(dup, l2=2 * l2)  # duplicating rows doubles the log-likelihood
        for m in "pqr":
            assert math.isclose(r1.row(m).rating, r2.row(m).rating, abs_tol=1e-8)


def test_nonexistent_mle_raises_and_l2_fixes_it() -> None:
    undefeated = battles_from_arrays(
        ["p", "p", "q"], ["q", "r", "r"], ["model_a", "model_a", "tie"]
    )
    with pytest.raises(RatingsFitError, match="'q', 'r' never beat 'p'"):
        compute_leaderboard(undefeated)
    board = compute_leaderboard(undefeated, l2=1.0)
    assert board.rows[0].model == "p"
