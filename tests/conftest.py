"""Shared fixtures: a real database (SQLite file or PostgreSQL) and a real server."""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from arena.config import Settings, load_settings  # noqa: E402
from arena.context import Arena  # noqa: E402
from tests.utils.postgres import fresh_postgres_database  # noqa: E402
from tests.utils.server import LiveServer, start_server  # noqa: E402
from tests.utils.shared_data import SHARED_DATA, WHERE  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their settings explicitly; ambient ARENA_* must not leak in."""
    for name in list(os.environ):
        if name.startswith("ARENA_"):
            monkeypatch.delenv(name)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public test data not found at {SHARED_DATA} ({WHERE})")
    return SHARED_DATA


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file under tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'arena.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(database_url=database_url, battle={"load_demo": False})


@pytest.fixture
def arena(settings: Settings) -> Iterator[Arena]:
    opened = Arena.open(settings)
    yield opened
    opened.close()


@pytest.fixture
def server(arena: Arena) -> Iterator[LiveServer]:
    with start_server(arena) as live:
        yield live
