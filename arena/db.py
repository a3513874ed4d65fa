"""Engine creation and the one way the schema changes: Alembic migrations."""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session

if TYPE_CHECKING:  # alembic is imported where it is used: an export worker never needs it
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE_S = 1.0  # a pooled PostgreSQL connection idle this long is checked first
READ_ONLY_OPTION = "arena_read_only"


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10,
                **kwargs: Any) -> Engine:
    """An engine with the per-backend settings the arena relies on.

    SQLite: WAL (readers do not block the writer), foreign keys on, and every
    transaction opened with BEGIN IMMEDIATE so concurrent writers queue on the
    busy timeout instead of failing with "database is locked" when a read
    transaction tries to become a write one (`read_only(engine)` opts out).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            read = connection.get_execution_options().get(READ_ONLY_OPTION)
            connection.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

        return engine
    ping_idle = kwargs.pop("pool_pre_ping", None) is None  # an explicit choice wins
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow, **kwargs)
    if ping_idle:
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use when it sat idle PING_AFTER_IDLE_S or more.

    SQLAlchemy's pool_pre_ping checks every checkout: a round trip more for every
    request, on connections that served another request a millisecond ago. A
    connection that was idle (the server restarted, a proxy dropped it) is checked
    and, if dead, replaced before the request sees it; a restart takes longer than
    PING_AFTER_IDLE_S, so every connection that sat in the pool through one is checked.
    Under load a connection is reused within milliseconds and never pinged. One that
    broke while busy fails its request, which answers 503 (as it did with
    pool_pre_ping), and SQLAlchemy renews the whole pool.
    """
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("an idle pooled connection is dead") from exc


def pool_budget_problem(engine: Engine, *, processes: int, pool_size: int,
                        max_overflow: int) -> str | None:
    """On PostgreSQL: why *processes* pools of this size may not all get connections
    (None when they fit in the server's max_connections)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        limit = int(connection.execute(text("SHOW max_connections")).scalar_one())
        reserved = int(connection.execute(
            text("SHOW superuser_reserved_connections")).scalar_one())
    wanted = processes * (pool_size + max_overflow)
    available = limit - reserved
    if wanted <= available:
        return None
    return (f"{processes} process(es) x (database_pool_size {pool_size} + "
            f"database_max_overflow {max_overflow}) = {wanted} connections, but PostgreSQL "
            f"allows {available} (max_connections {limit} - {reserved} reserved): lower "
            "database_pool_size / database_max_overflow or raise max_connections")


def stream_rows(engine: Engine, query: Any, batch: int) -> Iterator[list[Any]]:
    """The rows of *query* as plain driver tuples, *batch* at a time, through a raw
    cursor (server-side on PostgreSQL): no per-row ORM work, no result held whole."""
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    raw = engine.raw_connection()
    try:
        named = engine.dialect.name == "postgresql"
        cursor = raw.cursor(name="stream_rows") if named else raw.cursor()  # type: ignore[call-arg]
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield rows
        cursor.close()
        raw.rollback()
    finally:
        raw.close()


def read_only(engine: Engine) -> Engine:
    """The same engine for transactions that only read: on SQLite they begin
    deferred, so they never queue behind writers for the write lock."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


@contextmanager
def read_phase(session: Session) -> Iterator[None]:
    """The reads a request makes before its writes. On SQLite they run in a transaction
    of their own that begins deferred and ends here, so the write lock is held only for
    the short write transaction that follows; elsewhere reads take no lock and this
    adds nothing. (A caller already in a transaction keeps it.)"""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or session.in_transaction():
        yield
        return
    session.connection(execution_options={READ_ONLY_OPTION: True})
    try:
        yield
    finally:
        session.commit()


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """Hold a cross-process lock so several `arena serve` starts migrate once."""
    if engine.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"arena-migrations").digest()[:7], "big")
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            connection.commit()
            try:
                yield connection
            finally:
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        with engine.connect() as connection:
            yield connection
        return
    resolved = str(Path(database).expanduser().resolve()).encode()
    digest = hashlib.sha256(resolved).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"arena-migrate-{digest}.lock"
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to *revision*; safe to call from several processes at once."""
    from alembic import command

    with _migration_lock(engine) as connection:
        command.upgrade(alembic_config(connection), revision)
        connection.commit()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


class DatabaseNotReady(Exception):
    """The database is missing or not at the latest schema: `arena db upgrade` fixes it."""


def check_schema(url: str) -> None:
    """Raise DatabaseNotReady unless the database at *url* exists at the head revision.
    Never creates a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).expanduser().is_file():
            raise DatabaseNotReady(
                f"no database at {parsed.database}: run `arena db upgrade` (or `arena serve`) "
                "first")
