"""The vote store's history in the database as append-only columnar segments, so a
starting process reads a few blobs instead of every vote.

A segment holds the votes with ids in ``(low_id, high_id]`` as the store's columns
(an ``.npz``, no pickles) with code books of its own (models, categories, sources; the
live prompts as 64-bit ids), which the reader maps onto its own. Segments chain: each
starts where the previous ended, the first at 0; ``low_id`` is unique, so when two
processes write the same segment the second insert fails and changes nothing. A process
writes one when it has held ``SEGMENT_VOTES`` votes past the chain's end for ``SETTLE_SECONDS`` (ten
minutes): by then no transaction that took an id in the range is still open (a bulk
import holds its ids uncommitted for its whole length), so the range is complete.

Only what never changes after a vote is trusted from a segment: the store re-reads the
flags that can change later (flagged, suspicious) at load, from partial indexes.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from arena.models import BoardSegment
from arena.services.prompt_book import prompt_ids
from ratings.style import STYLE_FEATURES, style_features

log = logging.getLogger("arena.leaderboard")
SEGMENT_VOTES = 100_000
SETTLE_SECONDS = 600.0  # above the longest transaction expected (a 1 M import: ~90 s)
STYLE_K = len(STYLE_FEATURES)
STYLE_DTYPE = np.float32
"""A vote's style features, the differences the fit uses (16 bytes a vote, where both
answers' raw counts took 32). float32 keeps the board equal to a fit on exact features
(float16 moved small boards' ratings by up to 0.06 points)."""


@dataclass(frozen=True)
class SegmentData:
    """One segment's columns, coded against its own code books."""

    low_id: int
    high_id: int
    cols: dict[str, np.ndarray]
    style: np.ndarray  # (votes, STYLE_K) STYLE_DTYPE
    books: dict[str, list[str]]  # models, categories, sources
    prompts: np.ndarray  # the live prompts' ids (arena.services.prompt_book) by code

    @property
    def votes(self) -> int:
        return int(self.cols["ids"].shape[0])


def encode(segment: SegmentData) -> bytes:
    buffer = io.BytesIO()
    books = np.frombuffer(json.dumps(segment.books).encode(), dtype=np.uint8)
    np.savez(buffer, **segment.cols, style=segment.style, books=books, prompts=segment.prompts,
             bounds=np.array([segment.low_id, segment.high_id], dtype=np.int64))
    return buffer.getvalue()


_NOT_COLUMNS = ("style", "style_a", "style_b", "books", "bounds", "prompts")


def decode(blob: bytes) -> SegmentData:
    with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
        low, high = (int(v) for v in arrays["bounds"])
        if "style" in arrays:
            style = arrays["style"]
        else:  # written before 2026-12-01: both answers' raw counts
            style = style_features(arrays["style_a"], arrays["style_b"]).astype(STYLE_DTYPE)
        columns = {name: arrays[name] for name in arrays.files if name not in _NOT_COLUMNS}
        books = json.loads(arrays["books"].tobytes())
        if "prompts" in arrays:
            prompts = arrays["prompts"]
        else:  # older segments: the prompt keys themselves, in the books
            prompts = prompt_ids(books.pop("prompts", []))
        return SegmentData(low, high, columns, style, books, prompts)


def chain(session: Session) -> list[tuple[int, int, int]]:
    """(id, low_id, high_id) of the segments that chain from vote id 0, in order."""
    rows = session.execute(select(BoardSegment.id, BoardSegment.low_id, BoardSegment.high_id)
                           .order_by(BoardSegment.low_id)).all()  # type: ignore[arg-type]
    found: list[tuple[int, int, int]] = []
    end = 0
    for seg_id, low, high in rows:
        if low != end:
            break
        found.append((seg_id, low, high))
        end = high
    return found


def chain_votes(session: Session, found: list[tuple[int, int, int]]) -> int:
    """How many votes the *found* chain holds (to size the store before reading it)."""
    ids = [seg_id for seg_id, _, _ in found]
    if not ids:
        return 0
    return int(session.execute(select(func.sum(BoardSegment.votes)).where(
        BoardSegment.id.in_(ids))).scalar() or 0)  # type: ignore[union-attr]


def read_chain(session: Session, found: list[tuple[int, int, int]]) -> Iterator[SegmentData]:
    for seg_id, _, _ in found:
        yield decode(_blob(session, seg_id))


def _blob(session: Session, seg_id: int) -> bytes:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # psycopg's binary protocol: the bytes as stored, not hex text to decode (at ten
        # million votes the chain loads in 1.3 s instead of 4-6 s)
        raw: Any = connection.connection.dbapi_connection
        with raw.cursor(binary=True) as cursor:
            cursor.execute("SELECT data FROM board_segment WHERE id = %s", (seg_id,))
            return bytes(cursor.fetchone()[0])
    query = select(BoardSegment.data).where(BoardSegment.id == seg_id)
    return bytes(session.execute(query).scalar_one())  # type: ignore[call-overload]


def store_segment(engine: Engine, segment: SegmentData) -> bool:
    """Insert *segment*; False when another process stored one from the same low id."""
    try:
        with Session(engine) as session:
            session.add(BoardSegment(low_id=segment.low_id, high_id=segment.high_id,
                                     votes=segment.votes, data=encode(segment)))
            session.commit()
    except IntegrityError:
        return False
    log.info("leaderboard: stored the votes with ids in (%d, %d] as a segment (%d votes)",
             segment.low_id, segment.high_id, segment.votes)
    return True


def chain_end(session: Session) -> int:
    found = chain(session)
    return found[-1][2] if found else 0


__all__ = ["SEGMENT_VOTES", "SETTLE_SECONDS", "STYLE_DTYPE", "STYLE_K", "SegmentData", "chain",
           "chain_end", "chain_votes", "decode", "encode", "read_chain", "store_segment"]


