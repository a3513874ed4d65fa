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
        headers = {"X-Voter-Id": "multi-process-voter"}
        battle = httpx.post(f"{first}/api/battles", json={}, headers=headers).json()
        vote = httpx.post(f"{second}/api/battles/{battle['battle_id']}/vote",
                          json={"winner": "tie"}, headers=headers)
        assert vote.status_code == 200
        again = httpx.post(f"{first}/api/battles/{battle['battle_id']}/vote",
                           json={"winner": "model_a"}, headers=headers)
        assert again.status_code == 409
