"""Exporting votes as clean_battle records, streamed from the database in batches.

Rows come from the driver as tuples and become records a batch at a time, as columns
(arena.formats.vote_columns), which the writers turn into bytes a column at a time
(figures: benchmarks/README.md, export and import).

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
for HTTP) or ``export_parallel.write_export`` (into an open file); both run
``export_chunks``, but ``write_export`` hands a large export to several processes.
"""

from __future__ import annotations

import hashlib
import hmac
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import repeat
from operator import sub
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import (
    Connection,
    Integer,
    Text,
    bindparam,
    cast,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlmodel import Session

from arena.formats.vote_columns import VoteColumns, json_texts
from arena.formats.vote_writers import ChunkSink, open_writer
from arena.formats.votes import CONVERSATION_FIELDS, EXPORT_FIELDS
from arena.models import Battle, Vote
from arena.services.counting import CountRules, reason_expressions
from arena.times import parse_time

if TYPE_CHECKING:
    from arena.context import Arena

JUDGE_PREFIX = "arena_user_"
PSEUDONYM = re.compile(r"^arena_user_[0-9a-f]{32}$")
DEFAULT_BATCH = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_NO_TURNS = {0: None}  # .get(turns, turns): a conversation without a user turn


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
# The query's columns, in this order; nested JSON values are read as the text stored.
_COLUMNS = (
    Vote.id, Battle.id, Battle.question_id, Battle.model_a, Battle.model_b, Vote.winner,
    Battle.voter_id, Battle.anony, Battle.language, Vote.created_at, Battle.category,
    Battle.answer_set, Battle.mode, Battle.source, Battle.identity_leak, Battle.flagged,
    Vote.too_fast, _REASONS["suspicious"], Vote.seen_named, cast(Battle.stats, Text),
)
_PLAIN_FIELDS = ("battle_id", "question_id", "model_a", "model_b", "winner")  # as stored
_FLAG_FIELDS = ("identity_leak", "flagged", "too_fast", "suspicious", "seen_named")


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
    """Export records as dicts in vote order, *batch_size* at a time."""
    for batch in iter_vote_columns(session, salt=salt, filters=filters, options=options,
                                   batch_size=batch_size):
        yield batch.records()


def iter_vote_columns(
    session: Session, *, salt: str, filters: ExportFilters = ExportFilters(),
    options: ExportOptions = ExportOptions(), batch_size: int = DEFAULT_BATCH,
) -> Iterator[VoteColumns]:
    """Export records in vote order, *batch_size* at a time, as columns.

    Rows are the driver's tuples: no ORM object, no SQLAlchemy work per row.
    PostgreSQL streams one query, in one snapshot, through a server-side (named)
    cursor read a batch ahead by a worker thread (_read_ahead), so the server works
    while a batch is written. SQLite reads a batch per query (keyset pagination) and
    ends the read transaction after each, so a long export never holds back the WAL
    (no worker: SQLite takes the GIL back after every row, so a thread only adds
    switches).
    """
    yield from vote_columns_in(session.connection(), salt=salt, filters=filters,
                               options=options, batch_size=batch_size)


def vote_columns_in(
    connection: Connection, *, salt: str, filters: ExportFilters, options: ExportOptions,
    batch_size: int, ids: tuple[int, int] | None = None, keep_transaction: bool = False,
) -> Iterator[VoteColumns]:
    """iter_vote_columns on *connection*, for the votes whose id is in *ids* (first,
    last) when given; *keep_transaction*: SQLite reads every batch in the connection's
    transaction (one snapshot: arena.services.export_parallel) instead of its own."""
    columns = _selected(options, suspicious=filters.include_suspicious)
    statement = _where(select(*columns).join(Battle, Battle.id == Vote.battle_id), filters)
    if ids is not None:
        statement = statement.where(Vote.id.between(*ids))
    if connection.dialect.name == "postgresql":
        batches = _read_ahead(_postgres_batches(connection, statement.order_by(Vote.id),
                                                batch_size))
    else:
        batches = _sqlite_batches(connection, statement, batch_size,
                                  after=0 if ids is None else ids[0] - 1,
                                  end_transaction=not keep_transaction)
    for rows in batches:
        yield _columns(rows, salt, options)


def _selected(options: ExportOptions, *, turns: Any = None,
              suspicious: bool = True) -> list[Any]:
    """The query's columns: _COLUMNS, the user turns of conversation_a (messages
    alternate), then both conversations as stored (JSON text) when asked for.
    Without *suspicious* votes (filtered out), their column is false: not computed."""
    messages = func.json_array_length(Battle.conversation_a, type_=Integer)
    columns = [false() if c is _REASONS["suspicious"] and not suspicious else c
               for c in _COLUMNS]
    columns.append((messages + 1) // 2 if turns is None else turns)  # user turns
    if options.include_conversations:
        columns += [cast(Battle.conversation_a, Text), cast(Battle.conversation_b, Text)]
    return columns


def _postgres_batches(connection: Connection, statement: Any,
                      batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
    sql, parameters = _driver_query(statement.compile(dialect=connection.dialect))
    driver = connection.connection.driver_connection
    with driver.cursor(name="arena_export") as cursor:  # type: ignore[union-attr]
        cursor.execute(sql, parameters)
        while rows := cursor.fetchmany(batch_size):
            yield rows


def _sqlite_batches(connection: Connection, statement: Any, batch_size: int, *,
                    after: int = 0, end_transaction: bool = True,
                    ) -> Iterator[list[tuple[Any, ...]]]:
    keyset = bindparam("after_vote", 0, type_=Integer)
    compiled = statement.where(Vote.id > keyset).order_by(Vote.id).limit(batch_size).compile(
        dialect=connection.dialect)
    driver = connection.connection.driver_connection
    last_id = after
    while True:
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            rows = cursor.execute(*_driver_query(compiled, {"after_vote": last_id})).fetchall()
        finally:
            cursor.close()
        if end_transaction:
            driver.rollback()  # type: ignore[union-attr]  # end the read transaction (the WAL)
        if not rows:
            return
        last_id = rows[-1][0]
        yield rows


def _driver_query(compiled: Any, values: dict[str, Any] | None = None) -> tuple[str, Any]:
    """SQL and parameters for the driver's own cursor, as SQLAlchemy would pass them
    (IN lists expanded, each value through its type's processing: times become text
    on SQLite)."""
    state = compiled.construct_expanded_state(values)
    processors = state.processors

    def processed(name: str) -> Any:
        value = state.parameters[name]
        return processors[name](value) if name in processors else value

    if state.positiontup is not None:
        return state.statement, [processed(name) for name in state.positiontup]
    return state.statement, {name: processed(name) for name in state.parameters}


_DONE = object()


def _read_ahead(batches: Iterator[Any], *, depth: int = 1) -> Iterator[Any]:
    """*batches*, read by a worker thread up to *depth* ahead, so the database server
    works on the next batch while this one is written (the worker waits for it without
    the GIL). Only the worker touches the connection until it ends; its error is raised
    here; closing this generator stops it."""
    ready: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: Any, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                ready.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for batch in batches:
                if not hand_over(batch):
                    return
            hand_over(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
            hand_over(None, exc)
        finally:
            batches.close()  # type: ignore[attr-defined]  # in the thread that used it

    worker = threading.Thread(target=work, name="arena-export-reader", daemon=True)
    worker.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        worker.join()


def _columns(rows: Sequence[Any], salt: str, options: ExportOptions) -> VoteColumns:
    """A batch of query rows as export records (the privacy rules of the module docstring)."""
    if not rows:
        return VoteColumns(0, dict.fromkeys(EXPORT_FIELDS, ()))
    (_, battle_id, question_id, model_a, model_b, winner, voter_id, anony, language,
     created_at, category, answer_set, mode, source, identity_leak, flagged, too_fast,
     suspicious, seen_named, stats, turns, *conversations) = zip(*rows, strict=True)
    columns: dict[str, Sequence[Any]] = dict(zip(
        _PLAIN_FIELDS, (battle_id, question_id, model_a, model_b, winner), strict=True))
    columns["judge"] = (  # an imported vote holds a pseudonym already (vote_import)
        [v if m == "import" else judge_pseudonym(salt, v)
         for v, m in zip(voter_id, mode, strict=True)] if "import" in mode
        else list(map(judge_pseudonym, repeat(salt), voter_id)))
    columns["anony"] = list(map(bool, anony))
    columns["language"] = language
    columns["turn"] = list(map(_NO_TURNS.get, turns, turns))
    columns["tstamp"] = _unix_seconds(created_at)
    columns.update(category=category, answer_set=answer_set, mode=mode, source=source)
    for name, values in zip(_FLAG_FIELDS, (identity_leak, flagged, too_fast, suspicious,
                                           seen_named), strict=True):
        columns[name] = list(map(bool, values))
    columns["stats"] = json_texts(stats)
    if not conversations:
        return VoteColumns(len(rows), columns)
    live = [m == "live" for m in mode] if options.drop_live_prompts else ()
    return VoteColumns(len(rows), columns, dict(zip(CONVERSATION_FIELDS, conversations,
                                                    strict=True)),
                       changed=live, change=_blank_prompts if any(live) else None)


def _unix_seconds(moments: Sequence[Any]) -> list[float]:
    """``_utc(moment).timestamp()`` of each (naive = UTC), a batch at a time; SQLite's
    text is read as SQLAlchemy reads it (``datetime.fromisoformat``)."""
    if moments and isinstance(moments[0], str):
        moments = list(map(datetime.fromisoformat, moments))
    epoch = _EPOCH if moments and moments[0].tzinfo else _NAIVE_EPOCH
    try:
        since = list(map(sub, moments, repeat(epoch)))
    except TypeError:  # naive and aware times mixed: one at a time
        since = [m - (_EPOCH if m.tzinfo else _NAIVE_EPOCH) for m in moments]
    return list(map(timedelta.total_seconds, since))


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
    for batch in iter_vote_columns(session, salt=salt, filters=filters, options=options,
                                   batch_size=batch_size):
        writer.write_batch(batch)
        if on_batch is not None:
            on_batch(batch.count)
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
    options = ExportOptions(include_conversations=False)
    statement = select(*_selected(options, turns=literal(0))).join(
        Battle, Battle.id == Vote.battle_id)
    rows = session.execute(statement.order_by(Vote.id.desc()).limit(limit)).all()
    return _columns(rows, salt, options).records()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
