"""Judge Copilot: the judge's comparison for the battle's own voter, after the vote unless
the owner opens it before (then the battle is marked and can leave the board)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from arena import services
from arena.config import ConfigError, load_settings
from arena.context import Arena
from arena.models import Battle, BattlePublic
from arena.services.copilot import CopilotClosed, copilot_comparison
from arena.services.leaderboard import View
from arena.services.voters import Voter
from tests.utils.factories import import_small_set
from tests.utils.fake_judge import FakeJudge, serve_fake_judge
from tests.utils.limits import NO_LIMITS

ALICE = Voter(id="alice", ip_hash="h", ui_language="en")


def read(arena: Arena, battle_id: str, voter: Voter = ALICE) -> str:
    async def main() -> str:
        try:
            return "".join([piece async for piece in copilot_comparison(
                arena, battle_id=battle_id, voter=voter)])
        finally:
            await arena.aclose_http_client()
    return asyncio.run(main())


def first_battle(arena: Arena, tmp_path: Path) -> BattlePublic:
    import_small_set(arena, tmp_path)
    with arena.session() as session:
        return services.start_battle(session, voter=ALICE, limits=NO_LIMITS)


def copilot_arena(database_url: str, url: str, before_vote: bool) -> Arena:
    judge = {"name": "helper", "base_url": url, "model": "judge"}
    return Arena.open(load_settings(database_url=database_url, judges=[judge], battle={
        "load_demo": False, "copilot": "helper", "copilot_before_vote": before_vote}),
        migrate=True)


def test_after_the_vote_only_for_its_voter(database_url: str, tmp_path: Path) -> None:
    with serve_fake_judge(FakeJudge()) as url:
        arena = copilot_arena(database_url, url, before_vote=False)
        try:
            shown = first_battle(arena, tmp_path)
            with pytest.raises(CopilotClosed, match="after your vote"):
                read(arena, shown.battle_id)
            with arena.session() as session:
                services.record_vote(session, battle_id=shown.battle_id, winner="tie",
                                     voter=ALICE, limits=NO_LIMITS)
            text = read(arena, shown.battle_id)
            assert text.strip().splitlines()[-1] in ("[[A]]", "[[B]]", "[[C]]")
            with pytest.raises(services.Forbidden):
                read(arena, shown.battle_id, Voter(id="mallory", ip_hash="x"))
            with arena.session() as session:
                assert session.get(Battle, shown.battle_id).copilot_before_vote is False
        finally:
            arena.close()


def test_before_the_vote_the_battle_is_marked_and_can_leave_the_board(
        database_url: str, tmp_path: Path) -> None:
    with serve_fake_judge(FakeJudge()) as url:
        arena = copilot_arena(database_url, url, before_vote=True)
        try:
            shown = first_battle(arena, tmp_path)
            assert read(arena, shown.battle_id)
            with arena.session() as session:
                services.record_vote(session, battle_id=shown.battle_id, winner="model_a",
                                     voter=ALICE, limits=NO_LIMITS)
                assert session.get(Battle, shown.battle_id).copilot_before_vote is True
            assert arena.leaderboard.board(View()).total_votes == 1
            assert arena.leaderboard.board(View(include_copilot=False)).total_votes == 0
        finally:
            arena.close()


def test_the_copilot_must_be_a_configured_judge(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="battle.copilot"):
        load_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}",
                      battle={"copilot": "nobody"})


def test_each_comparison_counts_against_the_voters_limits(database_url: str,
                                                         tmp_path: Path) -> None:
    with serve_fake_judge(FakeJudge()) as url:
        judge = {"name": "helper", "base_url": url, "model": "judge"}
        limits = {"enabled": True, "battles_per_minute_voter": 3, "too_fast_min_seconds": 0,
                  "too_fast_seconds_per_1000_chars": 0}
        arena = Arena.open(load_settings(database_url=database_url, judges=[judge],
                                         limits=limits, battle={"load_demo": False,
                                                                "copilot": "helper"}),
                           migrate=True)
        try:
            import_small_set(arena, tmp_path)
            with arena.session() as session:
                shown = services.start_battle(session, voter=ALICE,
                                              limits=arena.settings.limits)  # 1 of 3
                services.record_vote(session, battle_id=shown.battle_id, winner="tie",
                                     voter=ALICE, limits=arena.settings.limits)
            assert read(arena, shown.battle_id) and read(arena, shown.battle_id)  # 2, 3
            with pytest.raises(services.TooManyRequests):
                read(arena, shown.battle_id)
        finally:
            arena.close()
