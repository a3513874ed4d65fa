"""Large exports written by several processes, each reading and formatting ranges of votes.

On SQLite the query and the formatting share one core (SQLite runs in the process
that asks, and takes the GIL back after every row), so one process cannot use a
second core. Here the vote ids are cut into ranges of *chunk_votes*; each range is
read and written by one process, in turn (``_cycle``): this one (into the file) or a worker
started for the export (into a temporary part; for Parquet the values its Arrow
batches are made of, so that a worker never loads pyarrow), which this
process then appends to the file in order (``VoteWriter.append_part``). The file is
byte for byte what one process writes (tests/data/test_export_parallel.py).

One snapshot for all: every process reads in one transaction begun on the same
state of the database.

- PostgreSQL: this process's transaction is REPEATABLE READ and exports its
  snapshot (``pg_export_snapshot``); each worker's transaction imports it
  (``SET TRANSACTION SNAPSHOT``) before its first read.
- SQLite: this process takes the write lock (``BEGIN IMMEDIATE``), begins its read
  transaction, has the workers begin theirs, and lets the lock go: no commit can
  fall between them. Writers wait for those few milliseconds; the WAL is kept
  from being checkpointed past the snapshot until the export ends.

A worker runs at most AHEAD ranges ahead of the file, so the parts on disk stay few.
Workers are spawned (a fresh interpreter): a script that calls ``write_export`` on a
large database needs the usual ``if __name__ == "__main__":`` guard, as for any
``multiprocessing`` program (``arena`` and ``python -m arena`` have it).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from arena.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, read_only
from arena.formats.vote_writers import VoteWriter, open_writer
from arena.models import Vote
from arena.services.export import DEFAULT_BATCH, ExportRequest, vote_columns_in, write_votes

if TYPE_CHECKING:
    from arena.context import Arena

CHUNK_VOTES = 50_000  # vote ids per range
MIN_VOTES = 200_000  # fewer vote ids: one process (a worker takes ~1 s to start)
READ_BATCH = 2_500  # votes a process reads at a time (memory: _read_batch)
PARQUET_SHARE = 4  # ranges each worker reads for one of this process's (see _cycle)
AHEAD = 2  # ranges a worker may have written that the file has not taken yet
WAIT_SECONDS = 1.0  # between checks that a worker (or the export) is still alive
LOCK_WAIT_MS = 2_000  # SQLite: for the write lock, else the export runs in one process
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]+$")


def default_workers() -> int:
    """Processes for a large export: one per core, at most four."""
    return max(1, min(os.cpu_count() or 1, 4))


@dataclass(frozen=True)
class _Job:
    """What a worker needs (pickled to it)."""

    url: str
    salt: str
    request: ExportRequest
    batch_size: int  # votes read at a time
    ranges: tuple[tuple[int, int, int], ...]  # (k, first id, last id)
    folder: str


def write_parallel(
    arena: Arena, handle: BinaryIO, request: ExportRequest, *, salt: str,
    on_batch: Callable[[int], None] | None = None, workers: int | None = None,
    chunk_votes: int = CHUNK_VOTES, min_votes: int = MIN_VOTES,
    batch_size: int = DEFAULT_BATCH,
) -> int | None:
    """Write *request*'s file to *handle* with *workers* processes (this one included);
    returns how many votes, or None (nothing written) when the votes are too few
    (fewer than *min_votes* vote ids) or *workers* is 1: then one process should."""
    workers = default_workers() if workers is None else workers
    if workers < 2 or arena.engine.dialect.name not in ("sqlite", "postgresql"):
        return None
    with arena.read_session() as probe:  # a transaction of its own: before the snapshot
        first, last = probe.execute(select(func.min(Vote.id), func.max(Vote.id))).one()
    if first is None or last - first + 1 < min_votes:
        return None
    with (tempfile.TemporaryDirectory(prefix="arena-export-") as folder,
          _workers_started(workers - 1) as started, arena.read_session() as session):
        for worker in started:
            worker.receive()  # ready: started, before anyone waits on us
        with ExitStack() as snapshot:  # SQLite: the write lock held until its end
            try:
                connection, begin = snapshot.enter_context(_one_snapshot(arena, session))
            except _Busy:
                return None
            first, last = connection.execute(select(func.min(Vote.id),
                                                    func.max(Vote.id))).one()
            ranges = ([] if first is None else
                      [(k, lo, min(lo + chunk_votes - 1, last))
                       for k, lo in enumerate(range(first, last + 1, chunk_votes))])
            read = _read_batch(batch_size)
            cycle = _cycle(request.fmt, workers)
            for n, worker in enumerate(started, start=1):
                mine = tuple(r for r in ranges if cycle[r[0] % len(cycle)] == n)
                begin(worker, _Job(url=arena.settings.database_url, salt=salt,
                                   request=request, batch_size=read, ranges=mine,
                                   folder=folder))
        return _write_file(connection, handle, request, salt=salt, ranges=ranges,
                           workers=[None, *started], cycle=cycle, folder=Path(folder),
                           on_batch=on_batch, batch_size=batch_size)


def _cycle(fmt: str, workers: int) -> list[int]:
    """The process (0: this one, 1..: the workers) that reads each range, in a cycle that
    repeats. For Parquet this process also makes the Arrow data of every worker's
    batches (a worker never loads pyarrow) and the file's row groups, so it reads one
    range for PARQUET_SHARE of each worker (CPU time, 1 M votes, 2 processes: 17.1 s
    here and 12.2 s in the worker at one in three; 15-16 s each at one in five)."""
    others = list(range(1, workers))
    return [0, *others * PARQUET_SHARE] if fmt == "parquet" else [0, *others]


def _read_batch(batch_size: int) -> int:
    """Votes to read at a time. Text is the same however it is read; Parquet's batches
    are cut again at *batch_size* by the file's writer, so each process may read
    fewer at a time and hold less (two processes each holding a batch of 10,000 and
    the file's row group went over 600 MB at 1 M votes; text batches of 10,000 held
    ~60 MB more in each process than batches of 2,500)."""
    return min(batch_size, READ_BATCH)


class _Worker:
    """A worker process and its end of the pipe; ``permits``: ranges it may start."""

    def __init__(self, context: Any) -> None:
        self.pipe, child_end = context.Pipe()
        self.permits = context.Semaphore(AHEAD)
        self.process = context.Process(target=_work, args=(child_end, self.permits),
                                       name="arena-export-worker", daemon=True)
        self.process.start()
        child_end.close()

    def receive(self) -> tuple[Any, ...]:
        """The worker's next message; raises its error, or if it died."""
        while not self.pipe.poll(WAIT_SECONDS):
            if not self.process.is_alive():
                raise RuntimeError(f"an export worker ended ({self.process.exitcode})")
        message = self.pipe.recv()
        if message[0] == "error":
            raise RuntimeError(f"an export worker failed:\n{message[1]}")
        return message  # type: ignore[no-any-return]

    def stop(self, *, at_once: bool = False) -> None:
        with suppress(OSError):
            self.pipe.close()
        self.process.join(timeout=0 if at_once else 5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


@contextmanager
def _workers_started(count: int) -> Iterator[list[_Worker]]:
    """*count* workers, started at once (each takes ~1 s to import the arena); stopped
    at the end (at once after an error)."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited state
    started: list[_Worker] = []
    failed = True
    try:
        for _ in range(count):
            started.append(_Worker(context))
        yield started
        failed = False
    finally:
        for worker in started:
            worker.stop(at_once=failed)


@contextmanager
def _one_snapshot(arena: Arena, session: Session) -> Iterator[
        tuple[Connection, Callable[[_Worker, _Job], None]]]:
    """This process's read transaction (its connection), and a function that begins a
    worker's on the same snapshot, to be called inside this block (module docstring)."""

    def begin(worker: _Worker, job: _Job) -> None:
        worker.pipe.send(("begin", job, snapshot))
        worker.receive()  # begun

    if arena.engine.dialect.name == "postgresql":
        connection = session.connection(
            execution_options={"isolation_level": "REPEATABLE READ"})
        (snapshot,) = connection.execute(text("SELECT pg_export_snapshot()")).one()
        yield connection, begin
        return
    snapshot = None
    lock = arena.engine.connect()
    try:
        driver = lock.connection.driver_connection
        driver.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")  # type: ignore[union-attr]
        try:
            lock.begin()  # BEGIN IMMEDIATE (arena.db): no one commits until the rollback
        except OperationalError as exc:  # a writer holds it (e.g. an import): one process
            raise _Busy from exc
        finally:
            driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # type: ignore[union-attr]
        connection = session.connection()  # BEGIN (deferred): read below, under the lock
        yield connection, begin
    finally:
        lock.rollback()
        lock.close()


class _Busy(Exception):
    """SQLite's write lock was not free within LOCK_WAIT_MS."""


def _write_file(connection: Connection, handle: BinaryIO, request: ExportRequest, *,
                salt: str, ranges: list[tuple[int, int, int]], workers: list[_Worker | None],
                cycle: list[int], folder: Path, on_batch: Callable[[int], None] | None,
                batch_size: int) -> int:
    options = request.options
    writer = open_writer(request.fmt, handle,
                         include_conversations=options.include_conversations,
                         batch_size=batch_size)
    read = _read_batch(batch_size)
    for k, first, last in ranges:
        worker = workers[cycle[k % len(cycle)]]
        if worker is None:
            count = _write_range(connection, writer, request, salt=salt, ids=(first, last),
                                 batch_size=read, on_batch=on_batch)
        else:
            _, part_k, count = worker.receive()
            if part_k != k:
                raise RuntimeError(f"an export worker sent range {part_k}, not {k}")
            path = folder / f"part-{k}"
            with path.open("rb") as part:
                writer.append_part(part, count)
            path.unlink()
            worker.permits.release()
            if on_batch is not None and count:
                on_batch(count)
    writer.close()
    return writer.count


def _write_range(connection: Connection, writer: VoteWriter, request: ExportRequest, *,
                 salt: str, ids: tuple[int, int], batch_size: int,
                 on_batch: Callable[[int], None] | None = None) -> int:
    count = 0
    for batch in vote_columns_in(connection, salt=salt, filters=request.filters,
                                 options=request.options, batch_size=batch_size, ids=ids,
                                 keep_transaction=True):
        writer.write_batch(batch)
        count += batch.count
        if on_batch is not None:
            on_batch(batch.count)
    return count


def _work(pipe: Pipe, permits: Any) -> None:
    """A worker: connect, begin on the snapshot it is sent, write its ranges as parts."""
    gc.disable()  # as the export command: millions of objects without cycles
    try:
        pipe.send(("ready",))
        _, job, snapshot = pipe.recv()
        engine = make_engine(job.url, pool_size=1, max_overflow=0, pool_pre_ping=False)
        try:
            with Session(read_only(engine)) as session:
                connection = _begun(session, snapshot)
                pipe.send(("begun",))
                options = job.request.options
                for k, first, last in job.ranges:
                    while not permits.acquire(timeout=WAIT_SECONDS):
                        parent = multiprocessing.parent_process()
                        if parent is None or not parent.is_alive():
                            return
                    with open(Path(job.folder) / f"part-{k}", "wb") as part:
                        writer = open_writer(job.request.fmt, part, part=True,
                                             include_conversations=options.include_conversations)
                        count = _write_range(connection, writer, job.request, salt=job.salt,
                                             ids=(first, last), batch_size=job.batch_size)
                        writer.close()
                    pipe.send(("part", k, count))
        finally:
            engine.dispose()
    except (EOFError, BrokenPipeError):  # the export ended without us (its error)
        return
    except BaseException:  # noqa: BLE001 - sent to the export, raised there
        with suppress(OSError):
            pipe.send(("error", traceback.format_exc()))


def _begun(session: Session, snapshot: str | None) -> Connection:
    """The worker's read transaction, on the export's snapshot."""
    if snapshot is None:  # SQLite: begun (deferred) and read while the export holds the lock
        connection = session.connection()
        connection.execute(select(func.count()).select_from(Vote).where(Vote.id < 0))
        return connection
    if not _SNAPSHOT_ID.match(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    connection = session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    return connection


def write_export(arena: Arena, handle: BinaryIO, request: ExportRequest, *,
                 on_batch: Callable[[int], None] | None = None,
                 workers: int | None = None) -> int:
    """Write *request*'s file to *handle*; returns how many votes. A large export is
    written by *workers* processes (default: one per core)."""
    salt = arena.salt  # before the session: it may be made (written) on first use
    written = write_parallel(arena, handle, request, salt=salt, on_batch=on_batch,
                             workers=workers)
    if written is not None:
        return written
    with arena.read_session() as session:
        return write_votes(session, handle, salt=salt, fmt=request.fmt,
                           filters=request.filters, options=request.options,
                           on_batch=on_batch)


