"""Fixtures for vote export/import: an arena with an admin token, votes to export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.config import Settings, load_settings
from arena.context import Arena
from tests.data.seed import seed_votes
from tests.utils.postgres import fresh_postgres_database

ADMIN_TOKEN = "owner-token-0123456789abcdef"
SALT = "test-salt-for-judges"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(database_url=database_url, secret_salt=SALT,
                         battle={"load_demo": False}, admin={"token": ADMIN_TOKEN})


@pytest.fixture
def seeded(arena: Arena, tmp_path: Path) -> Arena:
    seed_votes(arena, tmp_path)
    return arena


@pytest.fixture
def empty_arena(database_url: str, tmp_path: Path) -> Iterator[Arena]:
    """A second, empty database on the same backend as *database_url*."""
    if database_url.startswith("sqlite"):
        url_context = None
        url = f"sqlite:///{tmp_path / 'second.db'}"
    else:
        url_context = fresh_postgres_database()
        url = url_context.__enter__()
    opened = Arena.open(load_settings(database_url=url, secret_salt="another-salt",
                                      battle={"load_demo": False}), migrate=True)
    try:
        yield opened
    finally:
        opened.close()
        if url_context is not None:
            url_context.__exit__(None, None, None)
