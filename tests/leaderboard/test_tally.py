"""The tallied board (pair counts kept as votes arrive) equals a fit over every vote."""

from __future__ import annotations

import pytest
from sqlmodel import select

from arena.context import Arena
from arena.models import Battle
from arena.services.flags import set_battle_flag
from arena.services.leaderboard import LeaderboardCache, View, fit_view, view_battles
from tests.leaderboard.factories import Spec, add_votes, random_specs

VIEWS = (View(), View(anony_only=False), View(language="en"), View(category="coding"),
         View(dedup_prompts=False), View(include_flagged=True), View(turns="multi"))
THRESHOLD = 8  # prompts asked more than 8 times weigh 8 / count


def set_prompts(arena: Arena, step: int) -> None:
    """Live prompt keys on the newest battles: one flood prompt, a few repeated ones."""
    with arena.session() as session:
        fresh = session.exec(select(Battle).where(Battle.prompt_hash.is_(None))).all()  # type: ignore[union-attr]
        for k, battle in enumerate(fresh):
            battle.prompt_hash = "flood" if k % 3 == 0 else f"p{step}-{k % 5}"
            session.add(battle)
        session.commit()


def assert_same_as_full_fit(cache: LeaderboardCache, view: View) -> None:
    snap = cache.store.sync()
    board = cache.board(view)
    battles = view_battles(snap, view, dedup_threshold=cache.dedup_threshold)
    if battles is None:
        assert board.rows == () and board.total_votes == 0
        return
    ref = fit_view(battles, view)
    assert board.total_votes == battles.n_battles
    got = {r.model: r for r in board.rows}
    assert set(got) == {r.model for r in ref.rows}
    for row in ref.rows:
        mine = got[row.model]
        assert mine.rating == pytest.approx(row.rating, abs=1e-6)
        assert mine.lower == pytest.approx(row.lower, abs=1e-6)
        assert mine.upper == pytest.approx(row.upper, abs=1e-6)
        assert (mine.votes, mine.rank, mine.rank_ub) == (row.votes, row.rank, row.rank_ub)
        assert mine.win_rate == pytest.approx(row.win_rate, abs=1e-12)


def test_tallied_boards_equal_full_fits_as_votes_floods_and_flags_arrive(arena: Arena) -> None:
    cache = LeaderboardCache(arena.engine, dedup_threshold=THRESHOLD)
    for step in range(5):
        add_votes(arena, random_specs(60, seed=step))
        set_prompts(arena, step)
        if step == 3:
            with arena.session() as session:
                first = session.exec(select(Battle.id)).first()
                set_battle_flag(session, first, True)
        for view in VIEWS:
            assert_same_as_full_fit(cache, view)
    assert cache._tallies[View()].over  # the flood prompt was weighed, not just counted
    assert cache.board(View()).total_votes > 0


def test_a_new_model_joins_a_board_whose_flood_votes_are_weighed_aside(arena: Arena) -> None:
    """The tally's tables grow with a model first seen after them; the flood prompt's
    votes kept aside keep their pairs (cells re-laid for the larger table)."""
    cache = LeaderboardCache(arena.engine, dedup_threshold=THRESHOLD)
    add_votes(arena, random_specs(80, seed=11, prompt="flood"))
    before = cache.board(View())
    assert cache._tallies[View()].over and "echo" not in {r.model for r in before.rows}
    newcomer = [Spec("echo", "alpha", "model_a", prompt="flood"),
                Spec("bravo", "echo", "tie", prompt="flood"),
                Spec("echo", "delta", "model_b", prompt="other")]
    add_votes(arena, newcomer * 3)
    assert_same_as_full_fit(cache, View())
    assert "echo" in {r.model for r in cache.board(View()).rows}
