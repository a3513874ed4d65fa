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
from tests.utils.limits import NO_LIMITS_TOML  # noqa: E402
from tests.utils.postgres import fresh_postgres_database  # noqa: E402
from tests.utils.server import LiveServer, start_server  # noqa: E402
from tests.utils.shared_data import SHARED_DATA, WHERE  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Nothing of the checkout or the developer's shell reaches a test.

    Each test runs in an empty working directory (no `config/arena.toml`, no
    `arena.db`) with no ARENA_* variable of the shell; what `load_settings()`
    finds by default is the tests' config file (limits off) and a SQLite file of its own.
    A test may set its own values on top (arguments, monkeypatch.setenv).
    Harness variables (ARENA_TEST_*) are read when tests/utils is imported.
    """
    for name in list(os.environ):
        if name.startswith("ARENA_"):
            monkeypatch.delenv(name)
    workdir = tmp_path_factory.mktemp("cwd")
    test_config = workdir.parent / "tests-arena.toml"
    # Tests vote faster and more often than people: limits and the too-fast rule are
    # off unless a test turns them on (tests/utils/limits.py says why).
    test_config.write_text(NO_LIMITS_TOML)
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("ARENA_CONFIG", str(test_config))
    monkeypatch.setenv("ARENA_DATABASE_URL", f"sqlite:///{workdir / 'default.db'}")


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
    opened = Arena.open(settings, migrate=True)
    yield opened
    opened.close()


@pytest.fixture
def server(arena: Arena) -> Iterator[LiveServer]:
    with start_server(arena) as live:
        yield live
