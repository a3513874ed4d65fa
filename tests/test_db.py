"""Transactions on a real database: writers queue, readers never wait behind them."""

from __future__ import annotations

import threading

from sqlmodel import select

from arena.models import AppMeta

HANG_GUARD_S = 60  # only ends a test that would otherwise hang; never reached when it passes


def test_a_read_does_not_wait_for_a_writer_to_finish(arena) -> None:
    writer_holds = threading.Event()
    release = threading.Event()
    committed = threading.Event()

    def write() -> None:
        with arena.session() as session:
            session.add(AppMeta(key="held-by-writer", value="1"))
            session.flush()  # the write lock is held from here to commit
            writer_holds.set()
            release.wait(HANG_GUARD_S)
            session.commit()
            committed.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert writer_holds.wait(HANG_GUARD_S)
        with arena.read_session() as session:
            keys = set(session.exec(select(AppMeta.key)))
        # Had the read waited for the writer, the writer would have committed first.
        assert not committed.is_set()
        assert "salt" in keys and "held-by-writer" not in keys  # the committed state
    finally:
        release.set()
        writer.join()
    assert committed.is_set()
    with arena.read_session() as session:
        assert session.get(AppMeta, "held-by-writer") is not None
