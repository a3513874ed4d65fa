"""Exporting votes as clean_battle records, streamed from the database in batches.

Privacy rules, applied here and nowhere else:
- no IP (not even its hash) leaves the server;
- ``judge`` is ``arena_user_`` + HMAC-SHA256(arena salt, voter id), truncated to
  128 bits: stable across exports of one arena, different under another salt, not
  reversible without the salt. Imported votes already hold such a pseudonym
  (see vote_import) and export it unchanged;
- ``drop_live_prompts`` blanks what voters typed in live battles.

Flagged and identity-leaking battles are left out unless asked for.

Every door (``arena export votes``, ``GET /api/export``, the admin page) turns its
inputs into one ``ExportRequest`` and calls ``stream_export`` (chunks of the file,
for HTTP) or ``write_export`` (into an open file); both run ``export_chunks``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import Integer, func, literal, or_, select
from sqlmodel import Session

from arena.formats.vote_writers import ChunkSink, open_writer
from arena.models import Battle, Vote
from arena.services.counting import CountRules, reason_expressions
from arena.times import parse_time

if TYPE_CHECKING:
    from arena.context import Arena

JUDGE_PREFIX = "arena_user_"
PSEUDONYM = re.compile(r"^arena_user_[0-9a-f]{32}$")
DEFAULT_BATCH = 2_000


@lru_cache(maxsize=65_536)  # voters vote many times; one HMAC per voter per export
def judge_pseudonym(salt: str, voter: str) -> str:
    digest = hmac.new(salt.encode(), f"judge:{voter}".encode(), hashlib.sha256).hexdigest()
    return JUDGE_PREFIX + digest[:32]


@dataclass(frozen=True)
class ExportFilters:
    since: datetime | None = None  # vote time, inclusive
    until: datetime | None = None  # vote time, exclusive
    anony_only: bool = False
    models: tuple[str, ...] = ()  # votes where either side is one of these
    category: str | None = None
    include_flagged: bool = False  # flagged and identity-leak battles
    include_imported: bool = True
    include_too_fast: bool = False
    include_suspicious: bool = False  # the audit's filter and flagged voters
    include_seen_named: bool = False  # anonymous votes after a named view of the same
    source: str | None = None  # only votes imported from this dataset

    @property
    def rules(self) -> CountRules:
        """Which votes count (arena.services.counting), as this export asks."""
        return CountRules.of(self)


@dataclass(frozen=True)
class ExportOptions:
    include_conversations: bool = True
    drop_live_prompts: bool = False


@dataclass(frozen=True)
class ExportRequest:
    """What the owner asked for, whichever door it came through."""

    fmt: str = "jsonl"
    filters: ExportFilters = field(default_factory=ExportFilters)
    options: ExportOptions = field(default_factory=ExportOptions)

    @classmethod
    def of(
        cls, fmt: str = "jsonl", *, since: str | float | datetime | None = None,
        until: str | float | datetime | None = None, anony_only: bool = False,
        models: Iterable[str] | None = None, category: str | None = None,
        include_conversations: bool = True, include_flagged: bool = False,
        include_imported: bool = True, source: str | None = None,
        drop_live_prompts: bool = False, include_too_fast: bool = False,
        include_suspicious: bool = False, include_seen_named: bool = False,
    ) -> ExportRequest:
        """From a door's flat inputs; a bad time raises ``arena.times.TimeValueError``."""
        filters = ExportFilters(
            since=parse_time(since, "since"), until=parse_time(until, "until"),
            anony_only=anony_only, models=tuple(models or ()), category=category,
            include_flagged=include_flagged, include_imported=include_imported, source=source,
            include_too_fast=include_too_fast, include_suspicious=include_suspicious,
            include_seen_named=include_seen_named,
        )
        options = ExportOptions(include_conversations=include_conversations,
                                drop_live_prompts=drop_live_prompts)
        return cls(fmt=fmt, filters=filters, options=options)


_REASONS = reason_expressions()
_COLUMNS = (
    Vote.id, Battle.id, Battle.question_id, Battle.model_a, Battle.model_b, Vote.winner,
    Battle.voter_id, Battle.anony, Battle.language, Vote.created_at, Battle.category,
    Battle.answer_set, Battle.mode, Battle.source, Battle.identity_leak, Battle.flagged,
    Vote.too_fast, _REASONS["suspicious"], Vote.seen_named, Battle.stats,
)


def _where(statement: Any, filters: ExportFilters) -> Any:
    if filters.since is not None:
        statement = statement.where(Vote.created_at >= _utc(filters.since))
    if filters.until is not None:
        statement = statement.where(Vote.created_at < _utc(filters.until))
    statement = statement.where(filters.rules.sql_condition())
    if filters.models:
        names = list(filters.models)
        statement = statement.where(or_(Battle.model_a.in_(names), Battle.model_b.in_(names)))
    if filters.category is not None:
        statement = statement.where(Battle.category == filters.category)
    if filters.source is not None:
        statement = statement.where(Battle.source == filters.source)
    return statement


def count_votes(session: Session, filters: ExportFilters = ExportFilters()) -> int:
    statement = select(func.count()).select_from(Vote).join(Battle, Battle.id == Vote.battle_id)
    return int(session.execute(_where(statement, filters)).scalar_one())


def iter_record_batches(
    session: Session, *, salt: str, filters: ExportFilters = ExportFilters(),
    options: ExportOptions = ExportOptions(), batch_size: int = DEFAULT_BATCH,
) -> Iterator[list[dict[str, Any]]]:
    """Export records in vote order, *batch_size* at a time (keyset pagination).

    Each batch is its own short query, so nothing holds the whole result and
    writers are not blocked for the length of the export.
    """
    length = func.json_array_length(Battle.conversation_a, type_=Integer)
    turns = ((length + 1) // 2).label("turns")  # user turns: messages alternate
    columns: list[Any] = [*_COLUMNS, turns]
    if options.include_conversations:
        columns += [Battle.conversation_a, Battle.conversation_b]
    base = _where(select(*columns).join(Battle, Battle.id == Vote.battle_id), filters)
    last_id = 0
    while True:
        rows = session.execute(
            base.where(Vote.id > last_id).order_by(Vote.id).limit(batch_size)
        ).all()
        session.rollback()  # end the read transaction between batches (SQLite: the lock)
        if not rows:
            return
        last_id = rows[-1][0]
        yield [_record(row, salt, options) for row in rows]


def _record(row: Any, salt: str, options: ExportOptions) -> dict[str, Any]:
    (_, battle_id, question_id, model_a, model_b, winner, voter_id, anony, language,
     created_at, category, answer_set, mode, source, identity_leak, flagged, too_fast,
     suspicious, seen_named, stats, turns, *conversations) = row
    record = {
        "battle_id": battle_id, "question_id": question_id, "model_a": model_a,
        "model_b": model_b, "winner": winner,
        "judge": voter_id if mode == "import" else judge_pseudonym(salt, voter_id),
        "anony": bool(anony), "language": language, "turn": int(turns) or None,
        "tstamp": _utc(created_at).timestamp(), "category": category,
        "answer_set": answer_set, "mode": mode, "source": source,
        "identity_leak": bool(identity_leak), "flagged": bool(flagged),
        "too_fast": bool(too_fast), "suspicious": bool(suspicious),
        "seen_named": bool(seen_named), "stats": stats,
    }
    if conversations:
        conversation_a, conversation_b = conversations
        if options.drop_live_prompts and mode == "live":
            conversation_a, conversation_b = _blank_prompts(conversation_a), _blank_prompts(
                conversation_b)
        record["conversation_a"], record["conversation_b"] = conversation_a, conversation_b
    return record


def _blank_prompts(conversation: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": "" if m["role"] == "user" else m["content"]}
            for m in conversation]


def export_chunks(
    session: Session, *, salt: str, fmt: str, filters: ExportFilters = ExportFilters(),
    options: ExportOptions = ExportOptions(), on_batch: Callable[[int], None] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> Iterator[bytes]:
    """The export file in *fmt*, a chunk per batch of votes as it is read (the driver)."""
    sink = ChunkSink()
    writer = open_writer(fmt, sink, include_conversations=options.include_conversations)
    for batch in iter_record_batches(session, salt=salt, filters=filters, options=options,
                                     batch_size=batch_size):
        writer.write_batch(batch)
        if on_batch is not None:
            on_batch(len(batch))
        chunk = sink.take()
        if chunk:
            yield chunk
    writer.close()
    chunk = sink.take()
    if chunk:
        yield chunk


def write_votes(
    session: Session, handle: BinaryIO, *, salt: str, fmt: str,
    filters: ExportFilters = ExportFilters(), options: ExportOptions = ExportOptions(),
    on_batch: Callable[[int], None] | None = None, batch_size: int = DEFAULT_BATCH,
) -> int:
    """Write the selected votes to *handle* in *fmt*; returns how many."""
    written = 0

    def counted(n: int) -> None:
        nonlocal written
        written += n
        if on_batch is not None:
            on_batch(n)

    for chunk in export_chunks(session, salt=salt, fmt=fmt, filters=filters, options=options,
                               on_batch=counted, batch_size=batch_size):
        handle.write(chunk)
    return written


def stream_export(arena: Arena, request: ExportRequest) -> Iterator[bytes]:
    """*request*'s file chunk by chunk, in a session of its own for the whole stream."""
    salt = arena.salt  # before the session: it may be made (written) on first use
    with arena.read_session() as session:
        yield from export_chunks(session, salt=salt, fmt=request.fmt, filters=request.filters,
                                 options=request.options)


def write_export(arena: Arena, handle: BinaryIO, request: ExportRequest, *,
                 on_batch: Callable[[int], None] | None = None) -> int:
    """Write *request*'s file to *handle*; returns how many votes."""
    salt = arena.salt  # before the session: it may be made (written) on first use
    with arena.read_session() as session:
        return write_votes(session, handle, salt=salt, fmt=request.fmt,
                           filters=request.filters, options=request.options,
                           on_batch=on_batch)


def votes_per_day(session: Session, *, days: int = 30) -> list[tuple[date, int]]:
    """Votes cast per UTC day over the last *days* days, oldest first."""
    since = datetime.now(UTC) - timedelta(days=days)
    if session.get_bind().dialect.name == "postgresql":
        day = func.date(func.timezone("UTC", Vote.created_at))
    else:
        day = func.date(Vote.created_at)
    rows = session.execute(
        select(day, func.count()).where(Vote.created_at >= since).group_by(day).order_by(day)
    ).all()
    return [(d if isinstance(d, date) else date.fromisoformat(d), n) for d, n in rows]


def last_votes(session: Session, *, salt: str, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent votes as export records without conversations, newest first."""
    statement = select(*_COLUMNS, literal(0).label("turns")).join(
        Battle, Battle.id == Vote.battle_id)
    rows = session.execute(statement.order_by(Vote.id.desc()).limit(limit)).all()
    return [_record(row, salt, ExportOptions(include_conversations=False)) for row in rows]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
