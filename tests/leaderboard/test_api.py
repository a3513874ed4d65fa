"""GET /api/leaderboard on the real server: a vote through the API moves the board."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from arena.context import Arena
from tests.leaderboard.factories import add_votes, random_specs
from tests.utils.factories import import_small_set
from tests.utils.keys import script_headers
from tests.utils.server import LiveServer

JSON_KEYS = {"model", "rating", "lower", "upper", "rank", "rank_ub", "votes", "win_rate",
             "component", "organization", "license"}


def vote(api: httpx.Client, arena: Arena, voter: str, winner: str) -> dict[str, str]:
    headers = script_headers(arena, voter)
    battle = api.post("/api/battles", json={}, headers=headers)
    assert battle.status_code == 201
    done = api.post(f"/api/battles/{battle.json()['battle_id']}/vote", json={"winner": winner},
                    headers=headers)
    assert done.status_code == 200
    return done.json()


def test_a_vote_moves_the_board_on_the_next_request(server: LiveServer, tmp_path: Path) -> None:
    import_small_set(server.arena, tmp_path)
    with httpx.Client(base_url=server.url, timeout=30) as api:
        assert api.get("/api/leaderboard").json() == []
        first = vote(api, server.arena, "voter-number-1", "model_a")
        board = api.get("/api/leaderboard").json()
        assert {r["model"] for r in board} == {first["model_a"], first["model_b"]}
        assert set(board[0]) == JSON_KEYS
        assert board[0]["model"] == first["model_a"] and board[0]["win_rate"] == 1.0
        assert [r["votes"] for r in board] == [1, 1]
        for number in range(2, 8):
            vote(api, server.arena, f"voter-number-{number}", "model_b")
        moved = api.get("/api/leaderboard").json()
        assert sum(r["votes"] for r in moved) == 2 * 7
        assert moved != board


def test_category_and_style_control_filter(server: LiveServer, tmp_path: Path) -> None:
    import_small_set(server.arena, tmp_path)  # odd questions are "writing", even "coding"
    with httpx.Client(base_url=server.url, timeout=30) as api:
        for number in range(12):
            vote(api, server.arena, f"voter-number-{number}", "model_a" if number % 3 else "tie")
        everything = sum(r["votes"] for r in api.get("/api/leaderboard").json()) // 2
        per_category = [
            sum(r["votes"] for r in api.get("/api/leaderboard", params={"category": c}).json())
            // 2 for c in ("writing", "coding")
        ]  # fmt: skip
        assert everything == 12 and sum(per_category) == 12
        assert api.get("/api/leaderboard", params={"category": "nope"}).json() == []
        assert api.get("/api/leaderboard", params={"language": "xx"}).status_code == 422
        styled = api.get("/api/leaderboard", params={"style_control": "true"})
        assert styled.status_code == 200  # the same votes, rated with style control
        plain = api.get("/api/leaderboard").json()
        assert sorted((r["model"], r["votes"]) for r in styled.json()) == sorted(
            (r["model"], r["votes"]) for r in plain)
        assert api.get("/api/leaderboard", params={"anony_only": "false"}).status_code == 200


def test_predicted_win_rate_against_a_chosen_baseline(server: LiveServer) -> None:
    add_votes(server.arena, random_specs(200, seed=5))
    with httpx.Client(base_url=server.url) as api:
        rows = api.get("/api/leaderboard", params={"baseline": "bravo"}).json()
        missing = api.get("/api/leaderboard", params={"baseline": "nobody"})
    base = next(r for r in rows if r["model"] == "bravo")
    for row in rows:  # Bradley-Terry on the Elo scale: 1 / (1 + 10^((r_base - r) / 400))
        gap = base["rating"] - row["rating"]
        assert row["win_rate_vs_baseline"] == pytest.approx(1 / (1 + 10 ** (gap / 400)))
    assert base["win_rate_vs_baseline"] == pytest.approx(0.5)
    assert missing.status_code == 404 and "nobody" in missing.text
