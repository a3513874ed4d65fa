"""A vote file read, checked and made into rows by a second process while this one stores.

An import spends about half its time in Python (reading and checking each record,
making the rows) and half in the database's inserts; on SQLite both ran on one
core, in the process that holds the transaction. Here a worker process (spawned)
runs ``iter_votes`` and ``prepared_batches`` and sends each batch of rows through a
pipe, one batch ahead at most, while this process stores the previous one
(``import_vote_file``). Errors are the same: a malformed line raises the reader's
FormatError (or UnstorableVote) here, and nothing is stored.
"""

from __future__ import annotations

import gc
import multiprocessing
import traceback
from collections.abc import Iterator
from contextlib import suppress
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

from sqlalchemy import make_url
from sqlmodel import Session

from arena.formats.jsonl import FormatError
from arena.formats.votes import iter_votes
from arena.services.vote_import import (
    IMPORT_BATCH,
    PreparedBatch,
    UnstorableVote,
    VoteImportSummary,
    _check_source,
    _store,
    import_votes,
    prepared_batches,
)

MIN_BYTES = 4 << 20  # smaller files: read here (a worker takes ~0.5 s to start)
WAIT_SECONDS = 1.0  # between checks that the reader is still alive


def import_vote_file(
    session: Session, path: Path, fmt: str = "auto", *, source: str, salt: str,
    batch_size: int = IMPORT_BATCH, min_bytes: int = MIN_BYTES,
) -> VoteImportSummary:
    """``import_votes(session, iter_votes(path, fmt), ...)``, with the file read by a
    worker process when it holds at least *min_bytes*."""
    _check_source(source)
    if path.stat().st_size < min_bytes:
        return import_votes(session, iter_votes(path, fmt), source=source, salt=salt,
                            batch_size=batch_size)
    context = multiprocessing.get_context("spawn")
    pipe, child_end = context.Pipe(duplex=False)
    driver = session.get_bind().url.drivername  # e.g. postgresql+psycopg: the rows' dialect
    reader = context.Process(target=_read, name="arena-import-reader", daemon=True,
                             args=(child_end, str(path), fmt, driver, source, salt,
                                   batch_size))
    reader.start()
    child_end.close()
    try:
        return _store(session, _received(pipe, reader), source=source,
                      batch_size=batch_size)
    finally:
        pipe.close()  # a reader still sending stops (BrokenPipeError)
        reader.join(timeout=5)
        if reader.is_alive():
            reader.terminate()
            reader.join()


def _received(pipe: Pipe, reader: Any) -> Iterator[PreparedBatch]:
    while True:
        while not pipe.poll(WAIT_SECONDS):
            if not reader.is_alive():
                raise RuntimeError(f"the import's reader ended ({reader.exitcode})")
        message = pipe.recv()
        if message[0] == "done":
            return
        if message[0] == "raised":
            kind, args = message[1], message[2]
            raise (FormatError(*args[:2], line=args[2]) if kind == "FormatError"
                   else UnstorableVote(*args))
        if message[0] == "failed":
            raise RuntimeError(f"the import's reader failed:\n{message[1]}")
        yield message[1]


def _read(pipe: Pipe, path: str, fmt: str, driver: str, source: str, salt: str,
          batch_size: int) -> None:
    """The worker: send each PreparedBatch of the file, then "done" (or the error)."""
    gc.disable()  # as the import command: millions of objects without cycles
    try:
        dialect = make_url(f"{driver}://").get_dialect()()
        for batch in prepared_batches(iter_votes(Path(path), fmt), dialect=dialect,
                                      source=source, salt=salt, batch_size=batch_size):
            pipe.send(("batch", batch))
        pipe.send(("done",))
    except (BrokenPipeError, EOFError):  # the import ended without us (its error)
        return
    except FormatError as exc:
        with suppress(OSError):
            pipe.send(("raised", "FormatError", (str(exc.path), exc.message, exc.line)))
    except UnstorableVote as exc:
        with suppress(OSError):
            pipe.send(("raised", "UnstorableVote", (exc.line, exc.reason)))
    except BaseException:  # noqa: BLE001 - sent to the import, raised there
        with suppress(OSError):
            pipe.send(("failed", traceback.format_exc()))
