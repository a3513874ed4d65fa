"""Scheduled bootstrap intervals of the public board: in the background, never on a request."""

from __future__ import annotations

import httpx
import pytest

from arena.context import Arena
from arena.services.board_bootstrap import BoardBootstrap
from arena.services.leaderboard import View, view_battles
from ratings import SKLEARN_C1_L2, compute_leaderboard
from tests.leaderboard.factories import add_votes, random_specs
from tests.utils.server import LiveServer
from tests.utils.waiting import wait_until


def test_bootstrap_of_the_tallied_board_equals_one_over_its_votes(arena: Arena) -> None:
    add_votes(arena, random_specs(300, seed=2))
    found = BoardBootstrap(arena.leaderboard, minutes=0, rounds=60).compute()
    assert found is not None and found.rounds == 60
    battles = view_battles(arena.leaderboard.store.sync(), View())
    ref = compute_leaderboard(battles, ci="bootstrap", bootstrap_rounds=60, l2=SKLEARN_C1_L2)
    assert found.votes == battles.n_battles
    for row in ref.rows:
        lower, upper = found.bounds[row.model]
        assert lower == pytest.approx(row.lower, abs=1e-6)
        assert upper == pytest.approx(row.upper, abs=1e-6)
        assert lower < row.rating < upper


def test_the_schedule_recomputes_in_the_background(arena: Arena) -> None:
    add_votes(arena, random_specs(100, seed=3))
    scheduled = BoardBootstrap(arena.leaderboard, minutes=0.005, rounds=20).start()
    try:
        first = wait_until(lambda: scheduled.latest, timeout=30, what="a first bootstrap")
        add_votes(arena, random_specs(50, seed=4))
        later = wait_until(lambda: scheduled.latest if scheduled.latest.votes > first.votes
                           else None, timeout=30, what="a bootstrap with the new votes")
        assert later.computed_at > first.computed_at
    finally:
        scheduled.stop()


def test_the_public_board_shows_the_latest_bootstrap_with_its_age(server: LiveServer) -> None:
    add_votes(server.arena, random_specs(200, seed=5))
    with httpx.Client(base_url=server.url, timeout=30) as api:
        before = api.get("/api/leaderboard").json()
        assert before and "bootstrap_lower" not in before[0]  # not computed for a request
        server.arena.bootstrap.compute()
        rows = api.get("/api/leaderboard").json()
        other_view = api.get("/api/leaderboard", params={"anony_only": "false"}).json()
    for row in rows:
        assert row["bootstrap_lower"] < row["rating"] < row["bootstrap_upper"]
        assert 0 <= row["bootstrap_age_s"] < 60
    assert "bootstrap_lower" not in other_view[0]  # only the public board is bootstrapped
