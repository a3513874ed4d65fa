"""Several processes serving one arena: migrations run once, battles live in the database."""

from __future__ import annotations

import subprocess
from contextlib import ExitStack
from pathlib import Path

import httpx

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
