"""Faults under load, through nginx: a process killed with SIGKILL, PostgreSQL restarted.

Concurrent REST voters (tests/utils/load.py) start battles and vote while the
fault happens. What must hold: every vote that was acknowledged (200) is in the
database exactly once; a vote whose request died is counted apart (stored or not,
once at most, and a retry settles it); the other process keeps serving; service
comes back by itself.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from arena.context import Arena
from arena.models import Vote
from tests.utils.factories import import_small_set
from tests.utils.load import LoadResult, run_voters_sync
from tests.utils.postgres import fresh_postgres_database
from tests.utils.stack import arena_stack, open_arena, upstream_port

pytestmark = pytest.mark.slow
VOTERS = 16
PAIRS = 12  # per voter before the fault; then PAIRS_AFTER more once it is over
PAIRS_AFTER = 3
READ_DELAY = 0.05


def stored_votes(arena: Arena) -> dict[str, int]:
    with arena.session() as session:
        rows = session.exec(select(Vote.battle_id, func.count()).group_by(Vote.battle_id)).all()
    return dict(rows)  # type: ignore[arg-type]


def assert_votes_accounted(arena: Arena, load: LoadResult) -> None:
    """Acknowledged votes stored once; any other stored vote is one whose request died."""
    stored = stored_votes(arena)
    acknowledged = load.acknowledged_votes()
    assert acknowledged, "no vote was acknowledged at all"
    assert all(count == 1 for count in stored.values())
    missing = acknowledged - stored.keys()
    assert not missing, f"{len(missing)} acknowledged votes are not stored"
    unexplained = stored.keys() - acknowledged - load.uncertain_votes()
    assert not unexplained, f"{len(unexplained)} stored votes nobody cast"


def test_sigkill_of_one_process_mid_load_loses_no_acknowledged_vote(tmp_path: Path) -> None:
    with fresh_postgres_database() as database_url, \
            arena_stack(tmp_path, database_url=database_url) as stack:
        arena = open_arena(database_url)
        import_small_set(arena, tmp_path, questions=40)  # one voter never sees a repeat
        # A battle shown before the kill, by the process that will be killed.
        probe = httpx.Client(timeout=30)
        shown = probe.post(f"{stack.url}/api/battles", json={})
        victim = [w.port for w in stack.worker_list].index(upstream_port(shown))
        victim_port = stack.worker_list[victim].port
        other_port = stack.worker_list[1 - victim].port
        killed: list[int] = []

        def kill_and_wait() -> None:
            killed.append(stack.kill_worker(victim, signal.SIGKILL))
            stack.wait_restarted(victim, killed[0])

        load = run_voters_sync(stack.url, voters=VOTERS, pairs=PAIRS, read_delay=READ_DELAY,
                               midway=kill_and_wait, pairs_after_midway=PAIRS_AFTER,
                               deadline=240)
        assert killed and load.midway_done is not None
        assert_votes_accounted(arena, load)

        # The other process kept serving: every request it answered succeeded.
        by_other = [r for r in load.requests if r.upstream == f"127.0.0.1:{other_port}"]
        assert by_other and all(r.ok for r in by_other), [r for r in by_other if not r.ok][:3]
        # Failures involve the killed process only (nginx tried it first).
        failed = load.errors()
        assert all(r.upstream and f":{victim_port}" in r.upstream for r in failed), failed[:3]
        # Voters whose process died went on voting (through the other one) before it was back.
        during = [r for r in load.of("vote") if r.ok and load.midway_at is not None
                  and load.midway_at < r.start and r.start + r.latency < load.midway_done]
        assert during, "no vote succeeded while the killed process was down"

        # The restarted process serves the battle it showed before it was killed.
        restarted = stack.worker_list[victim]
        vote = probe.post(f"{restarted.url}/api/battles/{shown.json()['battle_id']}/vote",
                          json={"winner": "model_a"})
        assert vote.status_code == 200, vote.text
        assert stored_votes(arena).get(shown.json()["battle_id"]) == 1
        print(f"\nkill: {len(load.acknowledged_votes())} votes acknowledged, "
              f"{len(load.uncertain_votes())} died with the process, {len(failed)} failed "
              f"requests of {len(load.requests)}")
        probe.close()
        arena.close()


def test_postgres_restart_mid_load_recovers_and_loses_nothing(tmp_path: Path) -> None:
    with arena_stack(tmp_path, private_postgres=True) as stack:
        assert stack.database_url is not None
        arena = open_arena(stack.database_url)
        import_small_set(arena, tmp_path, questions=40)  # one voter never sees a repeat
        load = run_voters_sync(stack.url, voters=VOTERS, pairs=PAIRS, read_delay=READ_DELAY,
                               midway=stack.restart_postgres, pairs_after_midway=PAIRS_AFTER,
                               deadline=240)
        assert load.midway_done is not None
        assert_votes_accounted(arena, load)
        # While PostgreSQL was down the processes answered 503 (retry), not a cut
        # connection or a 500; nginx kept both processes in rotation.
        assert {r.status for r in load.errors()} <= {503}, load.errors()[:3]
        # Service came back by itself: once PostgreSQL was up, every voter voted again.
        after = {r.voter for r in load.of("vote") if r.ok and r.start > load.midway_done}
        assert after == set(range(VOTERS))
        assert all(w.restarts == 0 for w in stack.worker_list)  # no process had to die
        print(f"\npostgres restart: {len(load.acknowledged_votes())} votes acknowledged, "
              f"{len(load.errors())} failed requests of {len(load.requests)}, "
              f"{len(load.uncertain_votes())} votes uncertain")
        arena.close()
