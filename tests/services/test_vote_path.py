"""The vote path at full speed: few round trips, and reads that never wait for writers.

On SQLite and PostgreSQL (the `arena` fixture). The statement counts are the
design (a vote claims its battle in one UPDATE ... RETURNING; limits count in one
statement), pinned so a change that adds a round trip to every vote is seen.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, make_url
from sqlmodel import select

from arena import services
from arena.context import Arena
from arena.db import make_engine, pool_budget_problem
from arena.models import Battle, Vote
from arena.services.voters import Voter
from tests.utils.factories import MODELS, import_small_set
from tests.utils.limits import NO_LIMITS
from tests.utils.server import start_server

ALICE = Voter(id="alice-browser-1", ip_hash="h1", ui_language="en")
LIMITS_ON = NO_LIMITS.model_copy(update={"enabled": True})


@contextmanager
def statements(arena: Arena) -> Iterator[list[str]]:
    """The SQL statements the block sends, by their first word (SQLite's BEGINs, which
    go through the cursor, as "BEGIN" or "BEGIN IMMEDIATE")."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, _params, _context, _many) -> None:  # noqa: ANN001
        words = statement.split()
        seen.append(" ".join(words[:2]) if words[0] == "BEGIN" else words[0].upper())

    event.listen(arena.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(arena.engine, "before_cursor_execute", note)


def test_a_battle_and_a_vote_take_few_statements(arena: Arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path)
    with arena.session() as session:  # the first battle may prune old rate counters
        services.start_battle(session, voter=ALICE, limits=LIMITS_ON)
    with statements(arena) as battle_sql, arena.session() as session:
        shown = services.start_battle(session, voter=ALICE, limits=LIMITS_ON)
    # draw: has the answer pool changed (else its index is cached), what the voter was
    # shown, the question with the pair's answers; then the limit counters (one statement
    # for all windows) and the battle.
    if arena.engine.dialect.name == "sqlite":  # the reads wait for no writer
        assert battle_sql == ["BEGIN", "SELECT", "SELECT", "SELECT",
                              "BEGIN IMMEDIATE", "INSERT", "INSERT"]
    else:
        assert battle_sql == ["SELECT", "SELECT", "SELECT", "INSERT", "INSERT"]
    with statements(arena) as vote_sql, arena.session() as session:
        result = services.record_vote(session, battle_id=shown.battle_id, winner="tie",
                                      voter=ALICE, limits=LIMITS_ON)
    # claim the battle (UPDATE ... RETURNING), limit counters, the vote, the exposure
    # (on PostgreSQL the vote and the exposure are one statement: WITH vote ... INSERT).
    stored = ["INSERT", "INSERT"] if arena.engine.dialect.name == "sqlite" else ["WITH"]
    assert [s for s in vote_sql if not s.startswith("BEGIN")] == ["UPDATE", "INSERT", *stored]
    assert {result.model_a, result.model_b} <= set(MODELS)


def test_refused_votes_still_say_why(arena: Arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path)
    with arena.session() as session:
        shown = services.start_battle(session, voter=ALICE, limits=NO_LIMITS)
    bob = Voter(id="bob-browser-22", ip_hash="h2")
    cases = [("no-such-battle", ALICE, services.NotFound),
             (shown.battle_id, bob, services.Forbidden)]
    for battle_id, voter, error in cases:
        with arena.session() as session, pytest.raises(error):
            services.record_vote(session, battle_id=battle_id, winner="tie", voter=voter,
                                 limits=NO_LIMITS)
    with arena.session() as session:
        services.record_vote(session, battle_id=shown.battle_id, winner="tie", voter=ALICE,
                             limits=NO_LIMITS)
    with arena.session() as session, pytest.raises(services.Conflict, match="already"):
        services.record_vote(session, battle_id=shown.battle_id, winner="model_a",
                             voter=ALICE, limits=NO_LIMITS)
    with arena.session() as session:
        assert session.get(Battle, shown.battle_id).status == "voted"
        assert [v.winner for v in session.exec(select(Vote))] == ["tie"]


def test_reads_answer_while_another_process_holds_the_sqlite_write_lock(
        tmp_path: Path) -> None:
    """A writer elsewhere (another `arena serve`, a long import) holds SQLite's write
    lock: the board, a battle's page and the health check still answer."""
    from arena.config import load_settings

    url = f"sqlite:///{tmp_path / 'arena.db'}"
    arena = Arena.open(load_settings(database_url=url, battle={"load_demo": False}),
                       migrate=True)
    import_small_set(arena, tmp_path)
    with arena.session() as session:
        shown = services.start_battle(session, voter=ALICE, limits=NO_LIMITS)
    with start_server(arena) as server:
        client = httpx.Client(base_url=server.url, timeout=60)
        cookie_holder = client.get("/healthz")  # the voter cookie is made here
        assert cookie_holder.status_code == 200
        writer = sqlite3.connect(make_url(url).database, timeout=0, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # the write lock, held until we let go
        answered: dict[str, int] = {}
        try:
            def read_all() -> None:
                for path in ("/healthz", "/api/leaderboard", f"/api/battles/{shown.battle_id}"):
                    answered[path] = client.get(path).status_code

            reader = threading.Thread(target=read_all)
            reader.start()
            # The busy timeout is 30 s: a read that needed the lock would still be waiting.
            reader.join(timeout=20)
            done_under_lock = not reader.is_alive()
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        reader.join()
        client.close()
    arena.close()
    assert done_under_lock, f"reads waited for the write lock; answered so far: {answered}"
    # The battle belongs to ALICE, not to this client: 403 is an answer, not a wait.
    assert answered == {"/healthz": 200, "/api/leaderboard": 200,
                        f"/api/battles/{shown.battle_id}": 403}


def test_the_pool_budget_is_checked_against_postgresql(arena: Arena) -> None:
    if arena.engine.dialect.name != "postgresql":
        assert pool_budget_problem(arena.engine, processes=50, pool_size=10,
                                   max_overflow=10) is None  # SQLite has no pool budget
        return
    assert pool_budget_problem(arena.engine, processes=1, pool_size=10,
                               max_overflow=10) is None
    problem = pool_budget_problem(arena.engine, processes=50, pool_size=10, max_overflow=10)
    assert problem is not None
    assert "database_pool_size" in problem and "max_connections" in problem
    assert "50 process(es)" in problem


def test_pool_settings_reach_the_engine(tmp_path: Path) -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_size=3,
                         max_overflow=2)
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 2)  # type: ignore[attr-defined]
