"""Importing vote datasets: all of a file in one transaction, or nothing.

Each vote becomes a Battle (``mode="import"``, ``status="voted"``, ``source`` =
the dataset name, ``source_id`` = the record's ``battle_id``/``id`` or, lacking
one, a hash of its content) and a Vote cast at the record's ``tstamp``. A vote
whose (source, source_id) is stored already, or repeated in the file, is a
duplicate: skipped and counted. A vote of a model against itself (FastChat data
has a few) cannot be a battle here: skipped, counted and its line reported.
Unknown models are created. The judge is stored as a pseudonym (an exported
``arena_user_<32 hex>`` is kept as is; anything else, e.g. FastChat's
``arena_user_<ip>``, is keyed-hashed with this arena's salt). Text that UTF-8
cannot hold (a lone surrogate such as ``"\\ud800"``, which JSON can escape)
is refused with its line: UnstorableVote.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Integer, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from arena.formats.vote_columns import message_lists_json, standard_json
from arena.formats.votes import CONVERSATION_FIELDS, VoteRecord
from arena.models import Battle, Vote
from arena.services.answer_sets import get_or_create_models
from arena.services.errors import Conflict, InvalidInput
from arena.services.export import PSEUDONYM, judge_pseudonym

IMPORT_BATCH = 10_000
IMPORT_CACHE_KIB = 65_536  # SQLite's page cache while importing (its default: 2 MiB)
BATTLE_FIELDS = (
    "id", "anony", "mode", "model_a", "model_b", "answer_set", "question_id", "question_pk",
    "category", "language", "conversation_a", "conversation_b", "status", "voter_id", "ip_hash",
    "ui_language", "created_at", "failure_reason", "identity_leak", "flagged", "stats",
    "source", "source_id",
)
VOTE_FIELDS = ("battle_id", "winner", "ip_hash", "ui_language", "created_at", "too_fast",
               "suspicious", "seen_named")


class UnstorableVote(InvalidInput):
    """A record holds text the database cannot store; *line* is where it starts."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass
class VoteImportSummary:
    source: str
    imported: int = 0
    duplicates: int = 0
    self_play_lines: list[int] = field(default_factory=list)
    models: set[str] = field(default_factory=set)


def import_votes(
    session: Session, votes: Iterable[tuple[int, VoteRecord]], *, source: str, salt: str,
    batch_size: int = IMPORT_BATCH,
) -> VoteImportSummary:
    """Store *votes* (``(line, record)`` pairs, e.g. from ``iter_votes``) from *source*.

    Rows are written a batch at a time in the session's one transaction (COPY on
    PostgreSQL, executemany on SQLite). Errors raised while iterating *votes* (a
    malformed line) roll everything back and propagate unchanged. Raises Conflict
    when another import of the same source stored some of these votes meanwhile,
    UnstorableVote for text UTF-8 cannot hold (both: nothing stored).
    """
    _check_source(source)
    dialect = session.get_bind().dialect
    return _store(session, prepared_batches(votes, dialect=dialect, source=source, salt=salt,
                                            batch_size=batch_size),
                  source=source, batch_size=batch_size)


def _check_source(source: str) -> None:
    if not source or len(source) > 200:
        raise InvalidInput("source name must be 1-200 characters")


@dataclass
class PreparedBatch:
    """Records of a file made into rows as the driver takes them (BATTLE_FIELDS and
    VOTE_FIELDS, then the columns' defaults), but with an empty battle id: ids are
    given to the rows stored, once duplicates are known."""

    lines: list[int]
    source_ids: list[str]
    battles: list[tuple[Any, ...]]
    votes: list[tuple[Any, ...]]
    self_play_lines: list[int]


def prepared_batches(votes: Iterable[tuple[int, VoteRecord]], *, dialect: Any, source: str,
                     salt: str, batch_size: int = IMPORT_BATCH) -> Iterator[PreparedBatch]:
    """*votes* as rows for *dialect*, *batch_size* records at a time: what needs no
    database (arena.services.vote_import_reader runs it in a process of its own)."""
    battles = _Rows(Battle.__table__, BATTLE_FIELDS, dialect)  # type: ignore[attr-defined]
    cast = _Rows(Vote.__table__, VOTE_FIELDS, dialect)  # type: ignore[attr-defined]
    occurrences: dict[str, int] = {}
    batch = PreparedBatch([], [], [], [], [])
    for line, record in votes:
        if record.model_a == record.model_b:
            batch.self_play_lines.append(line)
            continue
        try:  # hashes encode the judge (and the record, lacking an id)
            source_id = record.record_id or _hashed_id(record, occurrences)
            battle, vote = _rows(record, battle_id="", source=source, source_id=source_id,
                                 salt=salt)
        except UnicodeEncodeError as exc:
            raise UnstorableVote(line, _unencodable(exc)) from exc
        batch.lines.append(line)
        batch.source_ids.append(source_id)
        battles.rows.append(battle)
        cast.rows.append(vote)
        if len(batch.lines) >= batch_size:
            batch.battles, batch.votes = battles.take(), cast.take()
            yield batch
            batch = PreparedBatch([], [], [], [], [])
    batch.battles, batch.votes = battles.take(), cast.take()
    yield batch


_MODELS = (BATTLE_FIELDS.index("model_a"), BATTLE_FIELDS.index("model_b"))


def _store(session: Session, batches: Iterable[PreparedBatch], *, source: str,
           batch_size: int) -> VoteImportSummary:
    """Store *batches* (new source ids only) in the session's one transaction."""
    summary = VoteImportSummary(source=source)
    integrity_errors = (IntegrityError, session.get_bind().dialect.loaded_dbapi.IntegrityError)
    sender = _Sender(threaded=session.get_bind().dialect.name == "postgresql")
    try:
        seen = set(session.execute(
            select(Battle.source_id).where(Battle.source == source)).scalars())
        battles = _BulkInsert(session, Battle.__table__, BATTLE_FIELDS)  # type: ignore[attr-defined]
        cast = _BulkInsert(session, Vote.__table__, VOTE_FIELDS)  # type: ignore[attr-defined]
        ids = _battle_ids()
        lines: list[int] = []  # of the rows gathered, for UnstorableVote
        a, b = _MODELS
        with _index_cache(session):
            for batch in batches:
                summary.self_play_lines += batch.self_play_lines
                for line, source_id, battle, vote in zip(batch.lines, batch.source_ids,
                                                         batch.battles, batch.votes,
                                                         strict=True):
                    if source_id in seen:
                        summary.duplicates += 1
                        continue
                    seen.add(source_id)
                    battle_id = next(ids)
                    battles.rows.append((battle_id, *battle[1:]))
                    cast.rows.append((battle_id, *vote[1:]))
                    lines.append(line)
                    if battle[a] not in summary.models or battle[b] not in summary.models:
                        sender.wait()  # the connection is free for the models' queries
                        get_or_create_models(session, sorted(
                            {battle[a], battle[b]} - summary.models))
                        summary.models.update((battle[a], battle[b]))
                    if len(battles.rows) >= batch_size:
                        summary.imported += _flush(battles, cast, sender, lines)
                        lines = []
            summary.imported += _flush(battles, cast, sender, lines)
            sender.wait()
        session.commit()
    except integrity_errors as exc:
        sender.abandon()
        session.rollback()
        reason = exc.orig if isinstance(exc, IntegrityError) else exc
        raise Conflict(f"votes from {source!r} were not stored (imported concurrently?): "
                       f"{reason}") from exc
    except BaseException:
        sender.abandon()
        session.rollback()
        raise
    finally:
        sender.close()
    return summary


@contextmanager
def _index_cache(session: Session) -> Iterator[None]:
    """SQLite: a page cache of IMPORT_CACHE_KIB while importing, so the indexes' pages
    stay in memory instead of being written out and read back on every insert (set
    back before the commit, while the session still holds the connection)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    (previous,) = driver.execute("PRAGMA cache_size").fetchone()  # type: ignore[union-attr]
    driver.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")  # type: ignore[union-attr]
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size = {int(previous)}")  # type: ignore[union-attr]


def _hashed_id(record: VoteRecord, occurrences: dict[str, int]) -> str:
    """Content hash; identical records in one file get #2, #3... so none is lost."""
    digest = record.content_hash()
    occurrences[digest] = occurrences.get(digest, 0) + 1
    count = occurrences[digest]
    return digest if count == 1 else f"{digest}#{count}"


def _battle_ids() -> Iterator[str]:
    """Battle ids of one import: a random prefix shared by all, then a count (32 hex
    digits, as a random id): each battle lands at the end of the id indexes (the
    battle's and the vote's) instead of anywhere in them."""
    prefix = secrets.token_hex(8)
    return (f"{prefix}{n:016x}" for n in itertools.count())


def _rows(record: VoteRecord, *, battle_id: str, source: str, source_id: str,
          salt: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The battle (BATTLE_FIELDS) and the vote (VOTE_FIELDS) of *record*."""
    cast_at = (datetime.fromtimestamp(record.tstamp, UTC) if record.tstamp is not None
               else datetime.now(UTC))
    judge = record.judge if PSEUDONYM.match(record.judge) else judge_pseudonym(salt,
                                                                                record.judge)
    battle = (
        battle_id, record.anony, "import", record.model_a, record.model_b, record.answer_set,
        record.question_id, None, record.category, record.language, record.conversation_a,
        record.conversation_b, "voted", judge, None, None, cast_at, None,
        record.identity_leak, record.flagged, record.stats, source, source_id,
    )
    vote = (battle_id, record.winner, None, None, cast_at, record.too_fast, record.suspicious,
            record.seen_named)
    return battle, vote


def _flush(battles: _BulkInsert, cast: _BulkInsert, sender: _Sender,
           lines: Sequence[int]) -> int:
    """Send the rows gathered (from *lines*); returns how many."""
    count = len(battles.rows)
    if count:
        battle_rows, vote_rows = battles.rows, cast.rows
        battles.rows, cast.rows = [], []

        def send() -> None:
            try:
                battles.send(battle_rows)  # first: each vote names its battle
                cast.send(vote_rows)
            except UnicodeEncodeError as exc:  # the driver's: which row, which field?
                raise _unstorable((battles, battle_rows), (cast, vote_rows), lines=lines,
                                  error=exc) from exc

        sender.send(send)
    return count


def _unstorable(*tables: tuple[_BulkInsert, list[tuple[Any, ...]]], lines: Sequence[int],
                error: UnicodeEncodeError) -> UnstorableVote:
    """The first row of *tables* (rows of *lines*) with a text UTF-8 cannot hold."""
    for table, rows in tables:
        for line, row in zip(lines, rows, strict=True):
            for name, value in zip(table.names, row, strict=True):
                if isinstance(value, str):
                    try:
                        value.encode()
                    except UnicodeEncodeError as exc:
                        return UnstorableVote(line, f"field {name!r}: {_unencodable(exc)}")
    return UnstorableVote(lines[0], _unencodable(error))  # not found again: the batch's


def _unencodable(error: UnicodeEncodeError) -> str:
    character = error.object[error.start:error.end]
    return (f"text with {character!r}, which UTF-8 cannot encode (a lone surrogate, "
            f"e.g. a JSON escape of half a pair)")


class _Sender:
    """Runs each batch's writes in order: on PostgreSQL in a worker thread, so the
    server stores one batch (indexes, constraints) while the next is read and prepared
    (the worker waits for it without the GIL); on SQLite at once (SQLite takes the GIL
    back after every row: a thread would only wait for it)."""

    def __init__(self, *, threaded: bool) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="arena-import") if threaded else None
        self.pending: Future[None] | None = None

    def send(self, work: Callable[[], None]) -> None:
        self.wait()
        if self.pool is None:
            work()
        else:
            self.pending = self.pool.submit(work)

    def wait(self) -> None:
        """Until the last batch is written; raises its error."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def abandon(self) -> None:
        """Until the last batch is done, its error dropped: another is being raised."""
        with suppress(BaseException):
            self.wait()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)


class _Rows:
    """Rows for *table*, given as tuples of *fields*, made into what the driver of
    *dialect* takes (``take``).

    Values go through what SQLAlchemy would do with them (the column's default when
    a field is not given, the type's bind processing, None as JSON ``null``), so the
    rows are those an ORM insert would store, but JSON is written as
    ``json.dumps(value, ensure_ascii=False)`` does (a column at a time): the form the
    exporter copies as it is.
    """

    def __init__(self, table: Table, fields: Sequence[str], dialect: Any) -> None:
        defaulted = [c for c in table.columns if c.name not in fields and c.default is not None
                     and (c.default.is_scalar or c.default.is_callable)]
        self.defaults: list[Any] = [c.default for c in defaulted]
        self.columns = [table.c[f] for f in fields] + defaulted
        self.json = [isinstance(c.type, JSON) for c in self.columns]
        self.processors: list[Callable[[Any], Any] | None] = [
            None if is_json or isinstance(c.type, Boolean)  # both drivers take bools as such
            else _faster(c.type.dialect_impl(dialect).bind_processor(dialect))
            for c, is_json in zip(self.columns, self.json, strict=True)]
        self.names = [c.name for c in self.columns]
        self.rows: list[tuple[Any, ...]] = []

    def take(self) -> list[tuple[Any, ...]]:
        """The rows gathered so far, as the driver takes them (emptied)."""
        values = list(zip(*self.rows, strict=True))
        if not values:
            values = [()] * (len(self.columns) - len(self.defaults))
        for default in self.defaults:  # e.g. copilot_before_vote=False
            values.append([default.arg(None) for _ in self.rows] if default.is_callable
                          else [default.arg] * len(self.rows))
        values = [_json_column(name, column) if is_json
                  else column if processor is None else list(map(processor, column))
                  for name, column, processor, is_json in zip(
                      self.names, values, self.processors, self.json, strict=True)]
        self.rows = []
        return list(zip(*values, strict=True))


class _BulkInsert:
    """Rows for *table* (as _Rows.take makes them), written a batch at a time in the
    session's transaction: a binary COPY on PostgreSQL (a text COPY cost this process
    40 % more CPU, escaping every text, and the server parses every timestamp),
    executemany on SQLite."""

    def __init__(self, session: Session, table: Table, fields: Sequence[str]) -> None:
        connection = session.connection()  # the transaction's, held until it ends
        self.driver: Any = connection.connection.driver_connection
        self.postgres = connection.dialect.name == "postgresql"
        self.names = _Rows(table, fields, connection.dialect).names
        names = ", ".join(self.names)
        if self.postgres:
            self.types = [_binary_type(table.c[name].type) for name in self.names]
            self.statement = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
        else:
            marks = ", ".join("?" * len(self.names))
            self.statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
        self.rows: list[tuple[Any, ...]] = []

    def send(self, rows: list[tuple[Any, ...]]) -> None:
        cursor = self.driver.cursor()
        try:
            if self.postgres:
                with cursor.copy(self.statement) as copy:
                    copy.set_types(self.types)
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self.statement, rows)
        finally:
            cursor.close()


# In order: BigInteger is an Integer. JSON goes as its text: PostgreSQL reads a json
# field of a binary COPY as text (and checks it).
_BINARY_TYPES = ((JSON, "text"), (String, "text"), (Boolean, "bool"), (BigInteger, "int8"),
                 (Integer, "int4"))


def _binary_type(column_type: Any) -> str:
    """The type psycopg is to send a column's values as in a binary COPY."""
    if isinstance(column_type, TypeDecorator):  # e.g. SQLModel's AutoString
        column_type = column_type.impl_instance
    if isinstance(column_type, DateTime):
        return "timestamptz" if column_type.timezone else "timestamp"
    for kind, name in _BINARY_TYPES:
        if isinstance(column_type, kind):
            return name
    raise TypeError(f"no binary COPY type for {column_type!r}")


_TIMES = (datetime(2026, 1, 2, 3, 4, 5, 678901), datetime(987, 6, 5, 4, 3, 2, tzinfo=UTC),
          datetime(2026, 12, 31, 23, 59, 59))


def _faster(processor: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """*processor*, but SQLite's DATETIME text (SQLAlchemy's default storage format,
    ``%Y-%m-%d %H:%M:%S.%f`` made with a dict per value) made by ``isoformat`` in C
    when the two agree (SQLAlchemy's took 6.5 % of a 200,000-vote SQLite import's
    samples in py-spy; there are two per vote, the battle's and the vote's)."""
    if processor is None:
        return None
    try:
        same = all(processor(t) == t.isoformat(" ", "microseconds")[:26] for t in _TIMES)
    except (TypeError, ValueError, AttributeError):
        same = False
    if not same:
        return processor

    def process(value: Any) -> Any:
        if type(value) is datetime:
            return value.isoformat(" ", "microseconds")[:26]
        return processor(value)

    return process


def _json_column(name: str, values: Sequence[Any]) -> list[str]:
    """A JSON column's values as ``json.dumps(value, ensure_ascii=False)`` writes them
    (a parsed vote's conversations: {role, content} strings only)."""
    if name in CONVERSATION_FIELDS:
        return message_lists_json(values)
    return [text.decode() for text in standard_json(values)]
