"""Several processes serving one arena: migrations run once, battles live in the database."""

from __future__ import annotations

import subprocess
from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tests.utils.limits import NO_LIMITS_TOML
from tests.utils.processes import arena_command, arena_env, outside_checkout, serving


def test_concurrent_upgrades_all_succeed(tmp_path: Path, database_url: str) -> None:
    env = arena_env(database_url)
    processes = [
        subprocess.Popen(arena_command("db", "upgrade"), cwd=outside_checkout(tmp_path),
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    assert all("database at revision" in out for out, _ in outputs)


def test_two_servers_share_battles_through_the_database(tmp_path: Path,
                                                        database_url: str) -> None:
    env = arena_env(database_url)
    with ExitStack() as stack:
        first = stack.enter_context(serving(tmp_path, env))
        second = stack.enter_context(serving(tmp_path, env))
        # One browser: its signed voter cookie, made by the first process, is good in
        # the second (both sign with the arena's secret kept in the database).
        voter = stack.enter_context(httpx.Client(timeout=30))
        battle = voter.post(f"{first}/api/battles", json={}).json()
        vote = voter.post(f"{second}/api/battles/{battle['battle_id']}/vote",
                          json={"winner": "tie"})
        assert vote.status_code == 200
        again = voter.post(f"{first}/api/battles/{battle['battle_id']}/vote",
                           json={"winner": "model_a"})
        assert again.status_code == 409


def test_a_voter_meets_no_repeat_across_two_processes(tmp_path: Path,
                                                      database_url: str) -> None:
    """Every demo question once before any comes back, and never a question with the same
    pair twice, while the voter's requests alternate between two processes."""
    config = tmp_path / "arena.toml"
    config.write_text(NO_LIMITS_TOML)  # 60 battles in a minute: past a voter's limit
    env = arena_env(database_url, ARENA_CONFIG=str(config))
    with ExitStack() as stack:
        urls = [stack.enter_context(serving(tmp_path, env)) for _ in range(2)]
        voter = stack.enter_context(httpx.Client(timeout=30))
        ids = []
        for k in range(60):
            response = voter.post(f"{urls[k % 2]}/api/battles", json={})
            assert response.status_code == 201, response.text
            ids.append(response.json()["battle_id"])
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = {battle_id: (question, frozenset((a, b))) for battle_id, question, a, b in
                connection.execute(text("SELECT id, question_id, model_a, model_b FROM battle"))}
    engine.dispose()
    shown = [rows[battle_id] for battle_id in ids]
    questions = [question for question, _ in shown]
    demo_questions = 38
    assert len(set(questions[:demo_questions])) == demo_questions
    assert len(set(shown)) == len(shown)
