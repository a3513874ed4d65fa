"""A throw-away PostgreSQL database per test.

The server is taken from ARENA_TEST_POSTGRES_URL (default: the local server at
127.0.0.1:5432, database ``test``). When it does not answer, PostgreSQL tests
skip with the reason; `.ci/run` always provides one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, make_url, text

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Read once at import: the tests' conftest removes every ARENA_* variable before each test.
ADMIN_URL = os.environ.get("ARENA_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    url = make_url(ADMIN_URL)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"arena_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        reason = (f"PostgreSQL not reachable at {url.render_as_string()}: "
                  f"{type(exc).__name__}; set ARENA_TEST_POSTGRES_URL or run .ci/run")
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI provides PostgreSQL; its absence is a failure there
        pytest.skip(reason)
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
