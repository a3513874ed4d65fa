"""Group covariates in the contextual fit: battle attributes as one-hot controls."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ratings import Battles, RatingsInputError, compute_leaderboard
from ratings.style import group_indicators

STRENGTH = np.array([0.8, 0.3, 0.0, -0.5])  # natural log-odds scale
MODELS = ("m0", "m1", "m2", "m3")


def simulate(n: int, side_bonus: dict[int, float], seed: int = 1) -> tuple[Battles, np.ndarray]:
    """Battles where, in group g, answer A gets an extra side_bonus[g] log-odds."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, n)
    b = (a + rng.integers(1, 4, n)) % 4
    group = rng.integers(0, len(side_bonus), n)
    bonus = np.array([side_bonus[g] for g in range(len(side_bonus))])[group]
    p = 1.0 / (1.0 + np.exp(-(STRENGTH[a] - STRENGTH[b] + bonus)))
    outcome = np.where(rng.random(n) < p, 0, 1).astype(np.int8)
    x, names = group_indicators(group, ["chat", "coding"], "category")
    return Battles(MODELS, a, b, outcome, None, x, names, indicator_features=x.shape[1]), group


def test_each_group_reads_as_its_own_odds_ratio():
    battles, _ = simulate(60_000, {0: 0.0, 1: math.log(2.0)})
    board = compute_leaderboard(battles, style_control=True, ties="drop")
    coef, lo, hi = board.style_coefficients, board.style_lower, board.style_upper
    assert set(coef) == {"category=chat", "category=coding"}
    # odds that the first-shown answer wins, per group: 1 in chat, 2 in coding
    assert lo["category=chat"] < 0.0 < hi["category=chat"]
    assert lo["category=coding"] < math.log(2.0) < hi["category=coding"]
    assert math.exp(coef["category=coding"]) == pytest.approx(2.0, rel=0.08)
    # ratings on the 400/ln(10) scale keep the true gaps
    rating = {r.model: r.rating for r in board.rows}
    gap = (rating["m0"] - rating["m3"]) * math.log(10.0) / 400.0
    assert gap == pytest.approx(1.3, abs=0.08)


def test_controls_correct_ratings_when_a_group_is_always_shown_in_one_order():
    # m0 is always on the left in "coding", where the left answer is favoured: a plain
    # fit credits m0 with the side's advantage; with the group controls it does not.
    rng = np.random.default_rng(3)
    n = 40_000
    a = rng.integers(0, 4, n)
    b = (a + rng.integers(1, 4, n)) % 4
    group = (rng.random(n) < 0.5).astype(np.int64)
    coding_m0 = (group == 1) & (b == 0)
    a[coding_m0], b[coding_m0] = b[coding_m0], a[coding_m0]  # m0 on the left in coding
    bonus = np.where(group == 1, 1.0, 0.0)
    p = 1.0 / (1.0 + np.exp(-(STRENGTH[a] - STRENGTH[b] + bonus)))
    outcome = np.where(rng.random(n) < p, 0, 1).astype(np.int8)
    x, names = group_indicators(group, ["chat", "coding"], "category")
    plain = compute_leaderboard(Battles(MODELS, a, b, outcome, None), ties="drop")
    controlled = compute_leaderboard(
        Battles(MODELS, a, b, outcome, None, x, names, indicator_features=2),
        style_control=True, ties="drop")

    def m0_over_m3(board):
        r = {row.model: row.rating for row in board.rows}
        return (r["m0"] - r["m3"]) * math.log(10.0) / 400.0

    assert abs(m0_over_m3(plain) - 1.3) > 0.15
    assert m0_over_m3(controlled) == pytest.approx(1.3, abs=0.08)


def test_style_columns_are_scaled_and_indicators_are_not():
    battles, group = simulate(20_000, {0: 0.0, 1: 0.5}, seed=7)
    rng = np.random.default_rng(8)
    style = rng.normal(size=(battles.n_battles, 1))
    coef = {}
    for scale in (1.0, 10.0):
        x = np.hstack([style * scale, battles.features])
        b = Battles(MODELS, battles.a, battles.b, battles.outcome, None, x,
                    ("length", *battles.feature_names), indicator_features=2)
        coef[scale] = compute_leaderboard(b, style_control=True, ties="drop").style_coefficients
    assert coef[1.0]["length"] == pytest.approx(coef[10.0]["length"], abs=1e-6)
    assert coef[1.0]["category=coding"] == pytest.approx(coef[10.0]["category=coding"], abs=1e-6)
    assert math.exp(coef[1.0]["category=coding"]) == pytest.approx(math.exp(0.5), rel=0.1)


def test_group_indicators_keep_every_present_level_and_name_it():
    x, names = group_indicators([2, 0, 2, 2], ["chat", "math", "coding"], "category")
    assert names == ("category=chat", "category=coding")
    assert x.tolist() == [[0, 1], [1, 0], [0, 1], [0, 1]]
    with pytest.raises(ValueError):
        group_indicators([3], ["chat"], "category")


def test_indicator_count_cannot_exceed_features():
    battles, _ = simulate(100, {0: 0.0, 1: 0.0})
    with pytest.raises(RatingsInputError, match="indicator_features"):
        Battles(MODELS, battles.a, battles.b, battles.outcome, None, battles.features,
                battles.feature_names, indicator_features=3)
