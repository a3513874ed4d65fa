"""Tie models: derivative checks and parameter recovery (Rao-Kupper 1967, Davidson 1970)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ratings import RatingsFitError, aggregate, battles_from_arrays, compute_leaderboard
from ratings.graph import component_labels, component_projector
from ratings.ties import _objective, derivatives, fit_tie_model, log_probs

from .conftest import simulate

RECOVERY_TOL = 0.12  # natural-log units, 40k battles
DERIV_TOL = 1e-5


def simulate_tie_model(model: str, theta: np.ndarray, kappa: float, n: int, seed: int):
    rng = np.random.default_rng(seed)
    m = theta.shape[0]
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    p = np.exp(log_probs(model, theta[a] - theta[b], kappa))
    u = rng.random(n)
    out = np.where(u < p[:, 0], 0, np.where(u < p[:, 0] + p[:, 1], 1, 2)).astype(np.int8)
    return battles_from_arrays(a, b, out, models=[f"m{k}" for k in range(m)])


@pytest.mark.parametrize("model", ["rao-kupper", "davidson"])
def test_probabilities_sum_to_one_and_derivatives(model: str) -> None:
    d = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(np.exp(log_probs(model, d, 0.7)).sum(axis=-1), 1.0, atol=1e-12)
    rng = np.random.default_rng(3)
    pc = aggregate(simulate(rng.normal(0, 1, 4), 300, rng, tie_rate=0.3))
    theta, kappa, h = rng.normal(0, 0.3, 4), 0.6, 1e-6
    grad, neg_h = derivatives(model, theta, kappa, pc.i, pc.j, pc.wsum, 0.2)
    x0 = np.append(theta, kappa)

    def f(x: np.ndarray) -> float:
        return _objective(model, x[:4], float(x[4]), pc.i, pc.j, pc.wsum, 0.2)

    num = np.array([(f(x0 + h * e) - f(x0 - h * e)) / (2 * h) for e in np.eye(5)])
    np.testing.assert_allclose(grad, num, rtol=DERIV_TOL, atol=DERIV_TOL)
    num_h = np.array(
        [
            (
                derivatives(
                    model, (x0 + h * e)[:4], float((x0 + h * e)[4]), pc.i, pc.j, pc.wsum, 0.2
                )[0]
                - derivatives(
                    model, (x0 - h * e)[:4], float((x0 - h * e)[4]), pc.i, pc.j, pc.wsum, 0.2
                )[0]
            )
            / (2 * h)
            for e in np.eye(5)
        ]
    )
    np.testing.assert_allclose(-neg_h, num_h, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("model", "kappa"), [("rao-kupper", 0.5), ("davidson", -0.3)])
def test_parameters_are_recovered(model: str, kappa: float) -> None:
    theta = np.array([-0.8, -0.2, 0.3, 0.7])
    battles = simulate_tie_model(model, theta, kappa, 40_000, seed=4)
    pc = aggregate(battles)
    proj = component_projector(component_labels(4, pc.i, pc.j))
    est, k_hat = fit_tie_model(model, pc.i, pc.j, pc.wsum, 4, projector=proj)
    np.testing.assert_allclose(est, theta - theta.mean(), atol=RECOVERY_TOL)
    assert abs(k_hat - kappa) < 0.05
    board = compute_leaderboard(battles, ties=model)
    assert board.tie_parameter is not None and abs(board.tie_parameter - kappa) < 0.05
    assert [r.model for r in board.rows] == ["m3", "m2", "m1", "m0"]
    assert all(r.lower < r.rating < r.upper for r in board.rows)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


# Two models, p beating q 5 times, losing 3 times, 2 ties.  With two parameters
# (d = theta_p - theta_q and kappa) for two free outcome probabilities the fit
# reproduces the observed frequencies, which gives the estimates in closed form:
# Davidson: e^d = P(p) / P(q), e^kappa = P(tie) / sqrt(P(p) P(q));
# Rao-Kupper: d - kappa = logit P(p), -d - kappa = logit P(q).
CLOSED_FORM = {
    "davidson": (math.log(5 / 3), math.log(2 / math.sqrt(5 * 3))),
    "rao-kupper": ((_logit(0.5) - _logit(0.3)) / 2, -(_logit(0.5) + _logit(0.3)) / 2),
}


@pytest.mark.parametrize("model", sorted(CLOSED_FORM))
def test_two_models_match_the_closed_form(model: str) -> None:
    d, kappa = CLOSED_FORM[model]
    data = battles_from_arrays(["p"] * 10, ["q"] * 10, ["model_a"] * 5 + ["model_b"] * 3
                               + ["tie"] * 2)  # fmt: skip
    board = compute_leaderboard(data, ties=model)
    assert board.tie_parameter == pytest.approx(kappa, abs=1e-9)
    elo_gap = board.row("p").rating - board.row("q").rating
    assert elo_gap == pytest.approx(400 * d / math.log(10), abs=1e-6)


def test_tie_models_need_ties_and_drop_ignores_them() -> None:
    no_ties = battles_from_arrays(["p", "q", "r"], ["q", "r", "p"], ["model_a"] * 3)
    with pytest.raises(RatingsFitError, match="at least one tie"):
        compute_leaderboard(no_ties, ties="davidson")
    with_ties = battles_from_arrays(
        ["p", "q", "r", "p"], ["q", "r", "p", "q"], ["model_a"] * 3 + ["tie"]
    )
    dropped = compute_leaderboard(with_ties, ties="drop")
    np.testing.assert_allclose([r.rating for r in dropped.rows], 1000.0, atol=1e-8)
    assert dropped.row("p").votes == 3  # votes count every battle, ties included
