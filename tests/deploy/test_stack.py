"""The deployment stack as a user starts it: nginx in front of two `arena serve`
processes on one PostgreSQL (deploy/stack.py, which these tests run)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from arena.context import Arena
from arena.models import Battle, Vote
from arena.services.voters import hash_ip
from deploy.stack import Stack
from tests.test_config import readme_block
from tests.utils.factories import import_small_set
from tests.utils.postgres import fresh_postgres_database
from tests.utils.processes import REPO, arena_env, outside_checkout
from tests.utils.stack import (
    UPSTREAM_HEADER,
    arena_stack,
    open_arena,
    require_nginx,
    require_postgres_server_binaries,
    state,
    upstream_port,
)
from tests.utils.waiting import wait_until

pytestmark = pytest.mark.slow
VOTERS = 24


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Arena]]:
    """One stack for this module's tests: two processes on a fresh PostgreSQL database."""
    tmp_path = tmp_path_factory.mktemp("stack")
    with fresh_postgres_database() as database_url, \
            arena_stack(tmp_path, database_url=database_url) as stack:
        arena = open_arena(database_url)
        import_small_set(arena, tmp_path)
        yield stack, arena
        arena.close()


def test_battles_and_votes_through_nginx_stick_to_one_process_per_voter(running) -> None:
    stack, arena = running
    served_by: dict[int, set[int]] = {}
    voted: list[str] = []
    for voter in range(VOTERS):
        with httpx.Client(timeout=30) as client:
            for _ in range(3):
                battle = client.post(f"{stack.url}/api/battles", json={})
                assert battle.status_code == 201, battle.text
                battle_id = battle.json()["battle_id"]
                vote = client.post(f"{stack.url}/api/battles/{battle_id}/vote",
                                   json={"winner": "tie"})
                assert vote.status_code == 200, vote.text
                voted.append(battle_id)
                # The first battle was the first request (no cookie yet): from the
                # vote on, the voter's cookie decides, and it never changes.
                served_by.setdefault(voter, set()).add(upstream_port(vote))
    assert all(len(ports) == 1 for ports in served_by.values()), served_by
    # The voters spread over both processes (24 voters on one: 2 * 2**-24 by chance).
    ports = {port for ports in served_by.values() for port in ports}
    assert ports == {worker.port for worker in stack.worker_list}
    with arena.session() as session:
        stored = session.exec(select(Vote.battle_id).where(Vote.battle_id.in_(voted))).all()
    assert sorted(stored) == sorted(voted)


def test_nginx_refuses_a_large_body_before_any_process_reads_it(running) -> None:
    stack, _ = running
    big = {"prompt": "x" * 300_000}
    response = httpx.post(f"{stack.url}/api/battles", json=big, timeout=30)
    assert response.status_code == 413
    assert UPSTREAM_HEADER not in response.headers  # nginx answered, no arena process
    assert httpx.get(f"{stack.url}/healthz", timeout=10).json() == {"status": "ok"}


def test_the_arena_counts_the_address_nginx_saw_not_one_the_client_claims(running) -> None:
    """The voter connects from 127.0.0.2 (loopback too): the arena, which sees only
    nginx at 127.0.0.1, stores that address (it believes nginx's X-Forwarded-For),
    and not the one the client wrote in its own X-Forwarded-For."""
    stack, arena = running
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(timeout=30, transport=transport) as client:
        battle = client.post(f"{stack.url}/api/battles", json={},
                             headers={"X-Forwarded-For": "203.0.113.9"}).json()
    with arena.session() as session:
        stored = session.get(Battle, battle["battle_id"])
    assert stored is not None
    assert stored.ip_hash == hash_ip(arena.salt, "127.0.0.2")


def test_a_killed_worker_is_restarted_on_its_port_and_stack_json_follows(running) -> None:
    stack, _ = running
    before = state(stack)["workers"][0]
    old_pid = stack.kill_worker(0, signal.SIGKILL)
    assert old_pid == before["pid"]
    # The other process answers meanwhile, whatever the hash says.
    for _ in range(5):
        assert httpx.get(f"{stack.url}/healthz", timeout=10).status_code == 200
    worker = stack.wait_restarted(0, old_pid)
    after = wait_until(lambda: (s := state(stack))["workers"][0]["pid"] != old_pid and s,
                       timeout=30, what="stack.json showing the new pid")
    assert after["workers"][0] == before | {"pid": worker.pid,
                                            "restarts": before["restarts"] + 1}
    assert httpx.get(f"{worker.url}/healthz", timeout=10).status_code == 200


def test_readme_stack_command_starts_and_stops_the_stack(tmp_path: Path) -> None:
    """The README's command, verbatim but for the port (0: a free one) and the run dir."""
    require_nginx()
    require_postgres_server_binaries()
    [line] = [line for line in readme_block("## Run several processes behind nginx")
              if "deploy/stack.py" in line]
    assert line.startswith(".venv/bin/python deploy/stack.py ")
    run_dir = tmp_path / "run"
    args = line.split()[2:]
    args[args.index("--port") + 1] = "0"
    args[args.index("--run-dir") + 1] = str(run_dir)
    workdir = outside_checkout(tmp_path / "cwd")
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "arena.toml").write_text((REPO / "config" / "arena.toml").read_text())
    process = subprocess.Popen([sys.executable, str(REPO / "deploy" / "stack.py"), *args],
                               cwd=workdir, env=arena_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        started = wait_until(lambda: (run_dir / "stack.json").exists() or process.poll(),
                             timeout=300, what="the stack writing stack.json")
        assert started is True, process.stdout.read() if process.stdout else ""
        stack = json.loads((run_dir / "stack.json").read_text())
        assert len(stack["workers"]) == int(args[args.index("--workers") + 1])
        assert httpx.get(f"{stack['url']}/healthz", timeout=10).json() == {"status": "ok"}
        battle = httpx.post(f"{stack['url']}/api/battles", json={}, timeout=30)
        assert battle.status_code == 201  # the demo set, loaded by the README's config
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert re.search(r"arena on http://127\.0\.0\.1:\d+ \(2 workers", output)
    assert "stopping" in output
    for worker in stack["workers"]:
        with pytest.raises(ProcessLookupError):
            os.kill(worker["pid"], 0)
