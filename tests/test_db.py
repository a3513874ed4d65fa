"""Transactions on a real database: writers queue, readers never wait behind them."""

from __future__ import annotations

import threading
import time

from sqlmodel import select

from arena.models import AppMeta


def test_a_read_does_not_wait_for_a_writer_to_finish(arena) -> None:
    writer_holds = threading.Event()
    release = threading.Event()

    def write() -> None:
        with arena.session() as session:
            session.add(AppMeta(key="held-by-writer", value="1"))
            session.flush()  # the write lock is held from here to commit
            writer_holds.set()
            release.wait(10)
            session.commit()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert writer_holds.wait(10)
        started = time.monotonic()
        with arena.read_session() as session:
            keys = set(session.exec(select(AppMeta.key)))
        assert time.monotonic() - started < 1
        assert "salt" in keys and "held-by-writer" not in keys  # the committed state
    finally:
        release.set()
        writer.join()
    with arena.read_session() as session:
        assert session.get(AppMeta, "held-by-writer") is not None
