"""Battles read a chunk at a time give the board of the same battles in one piece."""

from __future__ import annotations

import numpy as np
import pytest

from ratings import BattleChunks, Battles, compute_leaderboard
from ratings.style import group_indicators

MODELS = tuple(f"m{k}" for k in range(8))


def battles(n: int = 30_000, seed: int = 3) -> Battles:
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 0.6, len(MODELS))
    a = rng.integers(0, len(MODELS), n)
    b = (a + rng.integers(1, len(MODELS), n)) % len(MODELS)
    style = rng.uniform(-1, 1, (n, 2))
    group, names = group_indicators(rng.integers(0, 3, n), ["x", "y", "z"], "category")
    logit = strength[a] - strength[b] + style @ np.array([0.7, -0.2]) + 0.3 * group[:, 1]
    u = rng.random(n)
    p = 1.0 / (1.0 + np.exp(-logit))
    outcome = np.where(u < 0.1, 2, np.where(u < 0.1 + 0.9 * p, 0, 1)).astype(np.int8)
    weight = np.where(rng.random(n) < 0.05, 0.25, 1.0)  # some down-weighted repeats
    return Battles(MODELS, a, b, outcome, weight, np.hstack([style, group]),
                   ("length", "lists", *names), indicator_features=3)


def in_chunks(whole: Battles, size: int) -> BattleChunks:
    def chunks():
        for lo in range(0, whole.n_battles, size):
            sl = slice(lo, lo + size)
            assert whole.features is not None and whole.weight is not None
            yield Battles(whole.models, whole.a[sl], whole.b[sl], whole.outcome[sl],
                          whole.weight[sl], whole.features[sl], whole.feature_names,
                          indicator_features=whole.indicator_features)

    return BattleChunks(whole.models, chunks, whole.feature_names, whole.indicator_features)


@pytest.mark.parametrize("ties", ["half", "drop"])
@pytest.mark.parametrize("style", [False, True])
def test_a_board_from_chunks_equals_the_board_from_one_piece(ties: str, style: bool) -> None:
    whole = battles()
    options = {"style_control": style, "ties": ties, "l2": 0.5}
    one = compute_leaderboard(whole, **options)
    chunked = compute_leaderboard(in_chunks(whole, 7_001), **options)
    assert chunked.n_battles == one.n_battles == whole.n_battles
    for r1, r2 in zip(one.rows, chunked.rows, strict=True):
        assert r1.model == r2.model and r1.votes == r2.votes
        assert r2.rating == pytest.approx(r1.rating, abs=1e-7)
        assert r2.lower == pytest.approx(r1.lower, abs=1e-7)
        assert r2.upper == pytest.approx(r1.upper, abs=1e-7)
    assert chunked.style_coefficients.keys() == one.style_coefficients.keys()
    for name, value in one.style_coefficients.items():
        assert chunked.style_coefficients[name] == pytest.approx(value, abs=1e-9)
        assert chunked.style_upper[name] == pytest.approx(one.style_upper[name], abs=1e-9)


def test_chunks_refuse_what_needs_every_battle_at_once() -> None:
    chunked = in_chunks(battles(2_000), 500)
    for options in ({"reweight": True}, {"style_control": True, "ci": "bootstrap"}):
        with pytest.raises(ValueError, match="chunks"):
            compute_leaderboard(chunked, **options)


def test_chunk_pair_counts_are_merged_as_they_come() -> None:
    """The aggregate of 30 chunks equals the whole's, and no more than two chunks' pair
    counts are alive at once (not a list of one per chunk)."""
    import gc

    from ratings import PairCounts, aggregate

    whole = battles()
    alive: list[int] = []
    chunked = in_chunks(whole, 1_000)

    def pair_counts_alive() -> int:
        return sum(isinstance(o, PairCounts) for o in gc.get_objects())

    gc.collect()
    before = pair_counts_alive()  # those other tests left

    def counting() -> object:
        for chunk in chunked.chunks():
            alive.append(pair_counts_alive() - before)
            yield chunk

    merged = BattleChunks(whole.models, counting, whole.feature_names,
                          whole.indicator_features).aggregate()
    expected = aggregate(whole)
    assert len(alive) == 30 and max(alive) <= 2
    assert np.array_equal(merged.i, expected.i) and np.array_equal(merged.j, expected.j)
    for name in ("count", "wsum", "w2sum"):
        assert np.allclose(getattr(merged, name), getattr(expected, name), rtol=0, atol=1e-9)
