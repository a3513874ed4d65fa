"""A large export written by several processes is the file one process writes, read
in one snapshot of the database (arena.services.export_parallel)."""

from __future__ import annotations

import io
import multiprocessing
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from arena.context import Arena
from arena.formats.votes import FORMATS
from arena.models import Battle, Vote
from arena.services import export_parallel
from arena.services.export import (
    ExportFilters,
    ExportOptions,
    ExportRequest,
    write_votes,
)
from arena.services.export_parallel import write_export, write_parallel
from tests.data.test_export_bytes import EVERYTHING, SALT, open_arena

BATCH = 2  # votes per batch: ranges of 3 ids end inside batches


@pytest.fixture
def tricky(database_url: str) -> Iterator[Arena]:
    arena = open_arena(database_url, odd=False)  # 23 votes, ids 1-23
    yield arena
    arena.close()


def one_process(arena: Arena, request: ExportRequest) -> bytes:
    buffer = io.BytesIO()
    with arena.session() as session:
        write_votes(session, buffer, salt=SALT, fmt=request.fmt, filters=request.filters,
                    options=request.options, batch_size=BATCH)
    return buffer.getvalue()


def parallel(arena: Arena, request: ExportRequest, *, chunk_votes: int = 3,
             on_batch: object = None) -> tuple[int | None, bytes]:
    buffer = io.BytesIO()
    count = write_parallel(arena, buffer, request, salt=SALT, workers=3,
                           chunk_votes=chunk_votes, min_votes=1, batch_size=BATCH,
                           on_batch=on_batch)  # type: ignore[arg-type]
    return count, buffer.getvalue()


@pytest.mark.parametrize("fmt", FORMATS)
def test_parts_make_the_file_one_process_writes(tricky: Arena, fmt: str) -> None:
    for filters, options, chunk_votes, count in [
        (EVERYTHING, ExportOptions(), 3, 23),
        (EVERYTHING, ExportOptions(drop_live_prompts=True, include_conversations=False), 2, 23),
        # every other id; the first range (vote 1, no category) holds none
        (ExportFilters(category="chat"), ExportOptions(drop_live_prompts=True), 1, 9),
    ]:
        request = ExportRequest(fmt=fmt, filters=filters, options=options)
        assert parallel(tricky, request, chunk_votes=chunk_votes) == (
            count, one_process(tricky, request)), (filters, options)
    assert not multiprocessing.active_children()


def test_small_exports_stay_in_one_process(tricky: Arena) -> None:
    buffer = io.BytesIO()
    assert write_parallel(tricky, buffer, ExportRequest(), salt=SALT, workers=2,
                          min_votes=24) is None
    assert write_parallel(tricky, buffer, ExportRequest(), salt=SALT, workers=1,
                          min_votes=1) is None
    assert buffer.getvalue() == b""


def test_sqlite_busy_with_a_writer_exports_in_one_process(tricky: Arena) -> None:
    """The snapshot needs SQLite's write lock for a moment; while a long write (an
    import) holds it, the export is written by one process instead of waiting."""
    if tricky.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL takes no write lock for the export snapshot")
    request = ExportRequest(fmt="csv", filters=EVERYTHING)
    with tricky.engine.connect() as writer:
        writer.begin()  # BEGIN IMMEDIATE (arena.db)
        assert parallel(tricky, request) == (None, b"")
        buffer = io.BytesIO()
        assert write_export(tricky, buffer, request) == 23
    assert buffer.getvalue() == one_process(tricky, request)


def change_votes(arena: Arena) -> None:
    """Flag the votes of ids 21-23 and cast one more (id 24)."""
    with arena.session() as session:
        for battle_id in (f"b{20:031d}", f"b{21:031d}", f"b{22:031d}"):
            battle = session.get(Battle, battle_id)
            assert battle is not None and not battle.flagged
            battle.flagged = True
            session.add(battle)
        late = Battle(id="late" + "0" * 28, anony=True, mode="answers", model_a="model-0",
                      model_b="model-1", conversation_a=[], conversation_b=[],
                      status="voted", voter_id="late voter")
        session.add(late)
        session.flush()
        session.add(Vote(battle_id=late.id, winner="tie",
                         created_at=datetime(2026, 5, 1, tzinfo=UTC)))
        session.commit()


@pytest.mark.parametrize("when", ["after the first batch", "before the workers begin"])
def test_every_part_reads_the_snapshot_the_export_began_on(
        tricky: Arena, when: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Votes flagged and cast once the export has begun are in no part of it, including
    parts that a worker reads later, and parts of workers that begin later."""
    request = ExportRequest(fmt="jsonl", filters=ExportFilters())  # flagged ones left out
    before = one_process(tricky, request)
    writer = threading.Thread(target=change_votes, args=(tricky,))

    def after_first_batch(_count: int) -> None:
        if writer.ident is None and when == "after the first batch":
            writer.start()
            writer.join()

    if when == "before the workers begin":
        one_snapshot = export_parallel._one_snapshot

        @contextmanager
        def changed_first(arena: Arena, session: Session) -> Iterator[Any]:
            with one_snapshot(arena, session) as (connection, begin):
                def late_begin(worker: Any, job: Any) -> None:
                    if writer.ident is None:  # not started yet
                        writer.start()  # SQLite: it waits for the lock, until all began
                        if arena.engine.dialect.name == "postgresql":
                            writer.join()
                    begin(worker, job)

                yield connection, late_begin

        monkeypatch.setattr(export_parallel, "_one_snapshot", changed_first)
    # ranges of one id: a worker may be two ranges ahead of the file, no more
    count, written = parallel(tricky, request, chunk_votes=1, on_batch=after_first_batch)
    writer.join()
    assert written == before
    after = one_process(tricky, request)
    assert after != before
    with tricky.session() as session:
        assert session.exec(select(Vote).where(Vote.battle_id == "late" + "0" * 28)).one()
    assert len(after.splitlines()) == len(before.splitlines()) - 3 + 1
