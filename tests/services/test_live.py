"""Live battles through the service layer: real HTTP to a fake OpenAI server, real database."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from arena import services
from arena.context import Arena
from arena.models import ArenaModel, Battle, Vote
from arena.services import live
from arena.services.voters import Voter
from tests.utils.fake_openai import Script
from tests.utils.limits import NO_LIMITS
from tests.utils.live import LIVE_MODELS, assert_streamed_in_order, live_arena, run_live
from tests.utils.server import refusing_port

VOTER = Voter(id="live-voter-001", ui_language="en")
ALPHA, BETA = LIVE_MODELS


def play_turn(arena, prompt: str, battle_id: str | None = None) -> tuple[Battle, list]:
    with arena.session() as session:
        battle = live.submit_prompt(session, voter=VOTER, prompt=prompt,
                                    settings=arena.settings, battle_id=battle_id)

    async def consume() -> list:
        return [u async for u in live.run_turn(arena, battle)]

    updates = run_live(arena, consume())
    with arena.session() as session:
        return session.get(Battle, battle.id), updates


def test_both_sides_stream_and_the_turn_is_stored(database_url: str) -> None:
    scripts = {ALPHA: Script(reply="alpha says hi", token_delay=0.01),
               BETA: Script(reply="beta answers too", token_delay=0.01)}
    with live_arena(database_url, scripts) as (arena, fake):
        battle, updates = play_turn(arena, "Hello there")
        assert battle.status == "ready" and battle.mode == "live" and battle.anony
        assert {battle.model_a, battle.model_b} == set(LIVE_MODELS)
        texts = {battle.model_a: battle.conversation_a[-1]["content"],
                 battle.model_b: battle.conversation_b[-1]["content"]}
        assert texts == {ALPHA: "alpha says hi ", BETA: "beta answers too "}
        assert_streamed_in_order([(u.side, u.delta) for u in updates if u.side],
                                 {"a": battle.conversation_a[-1]["content"],
                                  "b": battle.conversation_b[-1]["content"]})
        for before, after in zip(updates, updates[1:], strict=False):  # text only grows
            assert all(after.texts[side].startswith(before.texts[side]) for side in "ab")
        assert updates[-1].finished and updates[-1].status == "ready"
        stats = battle.stats["a"][0]
        assert stats["completion_tokens"] == 3 and stats["prompt_tokens"] == 11
        assert stats["ttft_ms"] > 0 and stats["latency_ms"] >= stats["ttft_ms"]
        assert not any(name in repr(u) for u in updates for name in LIVE_MODELS)
        assert battle.language == "en"


def test_multi_turn_sends_the_whole_conversation_and_stops_at_the_limit(database_url) -> None:
    with live_arena(database_url, live={"max_turns": 2}) as (arena, fake):
        battle, _ = play_turn(arena, "First question")
        battle, _ = play_turn(arena, "Second question", battle.id)
        assert [m["role"] for m in battle.conversation_a] == ["user", "assistant"] * 2
        last = fake.requests[-1]["body"]["messages"]
        assert [m["content"] for m in last if m["role"] == "user"] == [
            "First question", "Second question"]
        assert len(battle.stats["a"]) == 2
        with arena.session() as session, pytest.raises(services.InvalidInput, match="2 turns"):
            live.submit_prompt(session, voter=VOTER, prompt="third", settings=arena.settings,
                               battle_id=battle.id)


def test_too_long_input_is_refused_not_truncated(database_url) -> None:
    with live_arena(database_url, live={"max_input_chars": 10}) as (arena, fake):
        with arena.session() as session, pytest.raises(services.InvalidInput,
                                                        match="11 characters; the limit is 10"):
            live.submit_prompt(session, voter=VOTER, prompt="x" * 11, settings=arena.settings)
        assert fake.requests == []


@pytest.mark.parametrize(
    ("script", "kind"),
    [
        (Script(first_token_delay=5), "timeout_first_token"),
        (Script(reply="one two three four", stall_after=2), "stream_stalled"),
        (Script(status=503), "upstream_server_error"),
        (Script(status=400), "upstream_request_error"),
        (Script(malformed=True), "malformed_stream"),
        (Script(reply=""), "empty_answer"),
    ],
)
def test_a_failing_side_fails_the_battle_and_keeps_the_other_answer(
    database_url, script, kind
) -> None:
    scripts = {ALPHA: Script(reply="a fine answer"), BETA: script}
    with live_arena(database_url, scripts) as (arena, _):
        battle, updates = play_turn(arena, "Hi")
        failed_side = "a" if battle.model_a == BETA else "b"
        good = battle.conversation_b if failed_side == "a" else battle.conversation_a
        assert battle.status == "failed"
        assert good[-1]["content"] == "a fine answer "
        assert updates[-1].errors[failed_side] == kind
        assert battle.failure_reason.startswith(f"model_{failed_side}: {kind}")
        with arena.session() as session:
            with pytest.raises(services.Conflict, match="did not complete"):
                services.record_vote(session, limits=NO_LIMITS,
                                     battle_id=battle.id, winner="model_a", voter=VOTER)
            assert session.exec(select(Vote)).first() is None
        again, _ = play_turn(arena, "a new battle starts at once", battle.id)
        assert again.id != battle.id


def test_connection_refused_is_a_failure_too(database_url) -> None:
    with live_arena(database_url, model_options={"connect_timeout": 1}) as (arena, _), \
            refusing_port() as port:
        arena.settings.models[1].base_url = f"http://127.0.0.1:{port}/v1"
        battle, updates = play_turn(arena, "Hi")
        assert battle.status == "failed" and "connection_failed" in battle.failure_reason


def test_repeated_failures_pause_a_model_from_sampling(database_url) -> None:
    models = (*LIVE_MODELS, "puffin-live-gamma")
    scripts = {BETA: Script(status=500)}
    with live_arena(database_url, scripts, models=models,
                    live={"failures_before_pause": 2, "pause_seconds": 600}) as (arena, _):
        failures = 0
        for _ in range(40):
            battle, _ = play_turn(arena, "Hi")
            failures += BETA in (battle.model_a, battle.model_b)
            with arena.session() as session:
                if BETA not in [m.name for m in live.available_models(session, arena.settings)]:
                    break
        assert failures == 2
        with arena.session() as session:
            status = {row["model"]: row for row in live.live_model_status(session, arena.settings)}
            paused = session.exec(select(ArenaModel).where(ArenaModel.name == BETA)).one()
        assert not status[BETA]["available"] and status[BETA]["paused_until"] is not None
        assert status[ALPHA]["available"] and paused.consecutive_failures == 2
        for _ in range(10):
            battle, _ = play_turn(arena, "Hi")
            assert BETA not in (battle.model_a, battle.model_b)


def test_identity_leak_in_an_answer_flags_the_battle(database_url) -> None:
    scripts = {ALPHA: Script(reply="I am Qwen, created by Alibaba Cloud."),
               BETA: Script(reply="Happy to help.")}
    with live_arena(database_url, scripts) as (arena, _):
        battle, _ = play_turn(arena, "Are you ChatGPT?")  # words in the prompt do not count
        assert battle.identity_leak is True
        services.record_vote(arena.session(), limits=NO_LIMITS,
                                           battle_id=battle.id, winner="tie", voter=VOTER)
        from arena.services.export import ExportFilters, iter_record_batches

        with arena.session() as session:
            kept = [r for batch in iter_record_batches(
                session, salt=arena.salt, filters=ExportFilters(include_flagged=True))
                for r in batch]
            default = [r for batch in iter_record_batches(session, salt=arena.salt)
                       for r in batch]
        assert [r["identity_leak"] for r in kept] == [True] and default == []
    with live_arena(database_url.replace("arena.db", "other.db"),
                    {ALPHA: Script(reply="Sure."), BETA: Script(reply="Metadata is fine.")}) as (
            arena, _):
        battle, _ = play_turn(arena, "Are you ChatGPT or Qwen?")
        assert battle.identity_leak is False


def test_regenerate_replaces_the_last_answers(database_url) -> None:
    with live_arena(database_url) as (arena, fake):
        battle, _ = play_turn(arena, "Hi")
        with arena.session() as session:
            pending = live.prepare_regenerate(session, battle_id=battle.id, voter=VOTER)

        async def consume() -> None:
            async for _ in live.run_turn(arena, pending):
                pass

        run_live(arena, consume())
        with arena.session() as session:
            again = session.get(Battle, battle.id)
        assert [m["role"] for m in again.conversation_a] == ["user", "assistant"]
        assert len(again.stats["a"]) == 1 and len(fake.requests) == 4


def test_api_key_is_sent_as_bearer_and_stored_nowhere(database_url, monkeypatch) -> None:
    secret = "sk-live-test-0123456789abcdef"
    monkeypatch.setenv("ARENA_TEST_KEY", secret)
    with live_arena(database_url, model_options={"api_key_env": "ARENA_TEST_KEY"}) as (
            arena, fake):
        battle, updates = play_turn(arena, "Hi")
        services.record_vote(arena.session(), limits=NO_LIMITS,
                                           battle_id=battle.id, winner="tie", voter=VOTER)
        assert {r["headers"]["authorization"] for r in fake.requests} == {f"Bearer {secret}"}
        assert secret not in repr(updates)
        with arena.engine.connect() as connection:
            from sqlalchemy import text

            for table in ("battle", "vote", "arena_model", "app_meta"):
                rows = connection.execute(text(f"SELECT * FROM {table}")).all()
                assert secret not in repr(rows)
        import io

        from arena.services.export import ExportFilters, write_votes

        for fmt in ("jsonl", "json", "csv"):
            buffer = io.BytesIO()
            with arena.session() as session:
                count = write_votes(session, buffer, salt=arena.salt, fmt=fmt,
                                    filters=ExportFilters(include_flagged=True))
            assert count == 1 and b"lynx-live-alpha" in buffer.getvalue()
            assert secret.encode() not in buffer.getvalue()


def test_a_model_whose_key_is_missing_is_not_sampled(database_url, monkeypatch) -> None:
    monkeypatch.delenv("ARENA_MISSING_KEY", raising=False)
    with live_arena(database_url) as (arena, _):
        arena.settings.models[0].api_key_env = "ARENA_MISSING_KEY"
        with arena.session() as session:
            assert [m.name for m in live.available_models(session, arena.settings)] == [BETA]
            with pytest.raises(live.ModelsUnavailable, match="fewer than two"):
                live.submit_prompt(session, voter=VOTER, prompt="Hi", settings=arena.settings)


def test_owner_sees_paused_and_keyless_models_in_arena_models(database_url, tmp_path,
                                                               monkeypatch) -> None:
    from tests.utils.processes import arena_env, run_arena

    scripts = {BETA: Script(status=500)}
    with live_arena(database_url, scripts, live={"failures_before_pause": 1}) as (arena, _):
        play_turn(arena, "Hi")
        config = tmp_path / "arena.toml"
        models = "".join(
            f'[[models]]\nname = "{m.name}"\nbase_url = "{m.base_url}"\nmodel = "{m.model}"\n'
            + ('api_key_env = "ARENA_NOT_SET_KEY"\n' if m.name == ALPHA else "")
            for m in arena.settings.models)
        config.write_text(f"[live]\nfailures_before_pause = 1\n{models}")
        monkeypatch.delenv("ARENA_NOT_SET_KEY", raising=False)
        listed = run_arena("models", "--config", str(config), cwd=tmp_path,
                           env=arena_env(database_url))
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert "paused until" in lines[BETA] and "1 failures" in lines[BETA]
    assert "API key variable not set" in lines[ALPHA]


def test_a_new_battle_is_stored_only_with_its_first_answers(database_url) -> None:
    scripts = {name: Script(reply="slow words here", token_delay=0.2) for name in LIVE_MODELS}
    with live_arena(database_url, scripts) as (arena, _):
        with arena.session() as session:
            battle = live.submit_prompt(session, voter=VOTER, prompt="Hi",
                                        settings=arena.settings)

        async def consume() -> list:
            updates = []
            async for update in live.run_turn(arena, battle):
                if not updates:  # answers are streaming: nothing to vote on yet
                    with arena.session() as session, pytest.raises(services.NotFound):
                        services.record_vote(session, limits=NO_LIMITS,
                                             battle_id=battle.id, winner="tie",
                                             voter=VOTER)
                updates.append(update)
            return updates

        updates = run_live(arena, consume())
        assert updates[-1].battle.status == "ready" and updates[-1].battle.battle_id == battle.id
        with arena.session() as session:
            assert services.record_vote(session, limits=NO_LIMITS,
                                        battle_id=battle.id, winner="tie",
                                        voter=VOTER).model_a in LIVE_MODELS


def test_a_voter_who_leaves_mid_turn_closes_the_battle_without_blaming_the_models(
        database_url) -> None:
    scripts = {name: Script(reply="a long answer " * 20, token_delay=0.05)
               for name in LIVE_MODELS}
    with live_arena(database_url, scripts, live={"failures_before_pause": 1}) as (arena, _):
        with arena.session() as session:
            battle = live.submit_prompt(session, voter=VOTER, prompt="Hi",
                                        settings=arena.settings)

        async def leave_early() -> None:
            turn = live.run_turn(arena, battle)
            async for update in turn:
                if update.side:
                    break
            await turn.aclose()

        run_live(arena, leave_early())
        with arena.session() as session:
            stored = session.get(Battle, battle.id)
            assert stored.status == "failed" and "cancelled" in stored.failure_reason
            assert all(m.consecutive_failures == 0 for m in session.exec(select(ArenaModel)))
            with pytest.raises(services.Conflict):
                services.record_vote(session, limits=NO_LIMITS,
                                     battle_id=battle.id, winner="tie", voter=VOTER)
        assert len(live.available_models(arena.session(), arena.settings)) == 2


def test_a_model_paused_by_another_process_is_not_drawn_after_a_refresh(database_url) -> None:
    scripts = {BETA: Script(status=500)}
    with live_arena(database_url, scripts, models=(*LIVE_MODELS, "puffin-live-gamma"),
                    live={"failures_before_pause": 1, "pause_seconds": 600}) as (arena, _):
        other = Arena.open(arena.settings)  # another `arena serve` on the same database
        other.paused_models.ttl = 3600
        try:
            assert asyncio.run(other.paused_models.current_async()) == set()
            for _ in range(50):  # until BETA has failed once in this arena
                battle, _ = play_turn(arena, "Hi")
                if BETA in (battle.model_a, battle.model_b):
                    break
            assert BETA in arena.paused_models.current()
            assert other.paused_models.current() == set()  # its copy is not stale yet
            other.paused_models.ttl = 0  # now it is: the next look re-reads the database
            pairs = [live.draw_battle(other.settings, other.paused_models.current(),
                                      voter=VOTER, prompt="Hi") for _ in range(30)]
            drawn = {name for pair in pairs for name in (pair.model_a, pair.model_b)}
            assert drawn == {ALPHA, "puffin-live-gamma"}
        finally:
            other.close()
