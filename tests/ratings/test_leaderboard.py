"""compute_leaderboard: ranks, anchoring, components, tables, Elo, errors."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest

from ratings import (
    RatingsInputError,
    RatingsWarning,
    aggregate,
    battle_count_matrix,
    battles_from_arrays,
    compute_leaderboard,
    online_elo,
    predicted_win_matrix,
    win_fraction_matrix,
    win_rates,
)

from .conftest import simulate

ROW_KEYS = {
    "model",
    "rating",
    "lower",
    "upper",
    "rank",
    "rank_ub",
    "votes",
    "win_rate",
    "component",
}


@pytest.fixture
def battles():
    rng = np.random.default_rng(7)
    return simulate(np.array([-1.0, -0.5, 0.0, 0.05, 1.0]), 3000, rng, tie_rate=0.1)


def test_result_shape_and_centring(battles) -> None:
    board = compute_leaderboard(battles)
    assert dataclasses.is_dataclass(board)
    with pytest.raises(dataclasses.FrozenInstanceError):
        board.ci = "x"  # type: ignore[misc]
    assert set(board.to_records()[0]) == ROW_KEYS
    assert [r.model for r in board.rows] == ["m04", "m03", "m02", "m01", "m00"]
    assert np.mean([r.rating for r in board.rows]) == pytest.approx(1000.0)
    assert board.connected and board.warnings == ()
    assert sum(r.votes for r in board.rows) == 2 * battles.n_battles


def test_rank_and_rank_ub(battles) -> None:
    board = compute_leaderboard(battles)
    for r in board.rows:
        above = sum(o.lower > r.upper for o in board.rows)
        assert r.rank_ub == 1 + above
        assert r.rank_ub <= r.rank
    # m03 and m02 are 0.05 apart: their intervals overlap, so m02 can tie for 2nd
    assert board.row("m02").rank == 3 and board.row("m02").rank_ub == 2
    assert board.row("m04").rank == board.row("m04").rank_ub == 1


def test_anchor_shifts_ratings_and_pins_interval(battles) -> None:
    free = compute_leaderboard(battles)
    pinned = compute_leaderboard(battles, anchor=("m02", 1114.0))
    shift = 1114.0 - free.row("m02").rating
    for r in free.rows:
        assert pinned.row(r.model).rating == pytest.approx(r.rating + shift)
    anchor_row = pinned.row("m02")
    assert anchor_row.lower == pytest.approx(1114.0) and anchor_row.upper == pytest.approx(1114.0)
    boot = compute_leaderboard(battles, anchor=("m02", 1114.0), ci="bootstrap", bootstrap_rounds=50)
    assert boot.row("m02").lower == pytest.approx(1114.0)
    with pytest.raises(RatingsInputError, match="anchor model"):
        compute_leaderboard(battles, anchor=("nope", 1.0))


def test_level_and_bootstrap_seed(battles) -> None:
    wide = compute_leaderboard(battles, level=0.99).row("m00")
    narrow = compute_leaderboard(battles, level=0.8).row("m00")
    assert wide.upper - wide.lower > narrow.upper - narrow.lower
    b1 = compute_leaderboard(battles, ci="bootstrap", bootstrap_rounds=30, seed=3)
    b2 = compute_leaderboard(battles, ci="bootstrap", bootstrap_rounds=30, seed=3)
    assert b1 == b2
    point = compute_leaderboard(battles)
    assert [r.rating for r in b1.rows] == [r.rating for r in point.rows]


def test_disconnected_graph_is_reported() -> None:
    data = battles_from_arrays(
        ["p", "q", "r", "s", "p"],
        ["q", "p", "s", "r", "q"],
        ["model_a", "model_a", "model_a", "model_a", "tie"],
    )
    with pytest.warns(RatingsWarning, match=r"2 disconnected components: \{p, q\}; \{r, s\}"):
        board = compute_leaderboard(data)
    assert board.components == (("p", "q"), ("r", "s"))
    assert not board.connected and len(board.warnings) == 1
    assert board.row("p").component == 0 and board.row("s").component == 1
    # each component is centred by convention (stated in the warning), never an arbitrary offset
    assert board.row("r").rating + board.row("s").rating == pytest.approx(2000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        assert compute_leaderboard(data, l2=0.1).warnings[0].endswith("the L2 prior alone")


def test_bad_options() -> None:
    data = battles_from_arrays(["p", "q"], ["q", "p"], ["model_a", "model_a"])
    for kwargs in (
        {"ci": "jackknife"},
        {"ties": "third"},
        {"level": 1.0},
        {"l2": float("nan")},
        {"l2": -1.0},
    ):
        with pytest.raises(ValueError):
            compute_leaderboard(data, **kwargs)
    with pytest.raises(ValueError, match="style control"):
        compute_leaderboard(data, style_control=True, ties="davidson")
    with pytest.raises(RatingsInputError, match="features"):
        compute_leaderboard(data, style_control=True)


def test_tables_and_predictions(battles) -> None:
    pc = aggregate(battles)
    counts = battle_count_matrix(pc)
    assert counts.sum() == 2 * battles.n_battles and np.allclose(counts, counts.T)
    frac = win_fraction_matrix(pc)
    off = ~np.eye(5, dtype=bool)
    np.testing.assert_allclose((frac + frac.T)[off], 1.0)
    # each model's score (wins + half its ties) and battles, counted from the raw rows
    a, b, out = battles.a, battles.b, battles.outcome
    score = np.array([np.sum((a == k) & (out == 0)) + np.sum((b == k) & (out == 1))
                      + 0.5 * np.sum(((a == k) | (b == k)) & (out == 2)) for k in range(5)])
    played = np.array([np.sum((a == k) | (b == k)) for k in range(5)])
    rate, votes = win_rates(pc)
    np.testing.assert_array_equal(votes, played)
    np.testing.assert_allclose(rate, score / played, rtol=1e-12)
    board = compute_leaderboard(battles)
    ratings = np.array([board.row(m).rating for m in battles.models])
    pred = predicted_win_matrix(ratings)
    np.testing.assert_allclose(pred + pred.T, 1.0)
    assert pred[4, 0] == pytest.approx(1 / (1 + 10 ** ((ratings[0] - ratings[4]) / 400)))
    # the BT fit reproduces each model's observed score exactly (the likelihood equations)
    np.testing.assert_allclose(np.sum(pred * counts, axis=1) - np.diag(pred * counts), score,
                               rtol=1e-6)


def test_tables_of_a_hand_counted_example() -> None:
    # p-q: p wins twice, q once, one tie; q-r: one win each way; p never meets r
    data = battles_from_arrays(["p", "q", "p", "q", "q", "r"], ["q", "p", "q", "p", "r", "q"],
                               ["model_a", "model_b", "model_b", "tie", "model_a", "model_a"])
    pc = aggregate(data)
    np.testing.assert_array_equal(battle_count_matrix(pc), [[0, 4, 0], [4, 0, 2], [0, 2, 0]])
    frac = win_fraction_matrix(pc)
    np.testing.assert_allclose(frac, [[np.nan, 2.5 / 4, np.nan], [1.5 / 4, np.nan, 1 / 2],
                                      [np.nan, 1 / 2, np.nan]])
    rate, votes = win_rates(pc)
    np.testing.assert_allclose(rate, [2.5 / 4, 2.5 / 6, 1 / 2])
    np.testing.assert_array_equal(votes, [4, 6, 2])


def test_online_elo() -> None:
    data = battles_from_arrays(["p", "p", "q"], ["q", "q", "p"], ["model_a", "tie", "model_b"])
    elo = online_elo(data, k=32)
    r1 = 1000 + 16.0
    e2 = 1 / (1 + 10 ** ((1000 - 16.0 - r1) / 400))
    r2 = r1 + 32 * (0.5 - e2)
    e3 = 1 / (1 + 10 ** (((2000 - r2) - r2) / 400))
    r3 = r2 + 32 * (1 - e3)
    assert elo[0] == pytest.approx(r3) and elo.sum() == pytest.approx(2000.0)
    with pytest.raises(ValueError):
        online_elo(data, k=0)
    assert math.isclose(online_elo(data, k=4, init=1500).mean(), 1500)


def test_frequency_weights_equal_the_expanded_battles() -> None:
    rng = np.random.default_rng(21)
    m, n = 5, 4_000
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    outcome = rng.choice(np.array([0, 1, 2], dtype=np.int8), n, p=[0.45, 0.4, 0.15])
    names = [f"m{k}" for k in range(m)]
    expanded = battles_from_arrays(a, b, outcome, models=names)
    cells, counts = np.unique(np.stack([a, b, outcome]), axis=1, return_counts=True)
    counted = battles_from_arrays(cells[0], cells[1], cells[2].astype(np.int8), models=names,
                                  weights=counts.astype(np.float64))
    assert cells.shape[1] < n / 50  # the same battles in a few dozen rows
    for options in ({"l2": 0.0}, {"l2": 1.0}, {"ci": "bootstrap", "bootstrap_rounds": 20}):
        want = compute_leaderboard(expanded, **options)
        got = compute_leaderboard(counted, frequency_weights=True, **options)
        for name in names:
            assert got.row(name).rating == pytest.approx(want.row(name).rating, abs=1e-6)
            assert got.row(name).lower == pytest.approx(want.row(name).lower, abs=1e-6)
            assert got.row(name).upper == pytest.approx(want.row(name).upper, abs=1e-6)
            assert got.row(name).votes == want.row(name).votes
    # as importance weights the same rows would claim far fewer battles' precision
    naive = compute_leaderboard(counted)
    assert naive.row("m0").upper - naive.row("m0").lower > 2 * (
        want.row("m0").upper - want.row("m0").lower)
    with pytest.raises(RatingsInputError, match="whole numbers"):
        compute_leaderboard(battles_from_arrays(a[:10], b[:10], outcome[:10], models=names,
                                                weights=np.full(10, 0.5)),
                            frequency_weights=True)
