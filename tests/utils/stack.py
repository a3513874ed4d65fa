"""The deployment stack (deploy/stack.py: nginx, N `arena serve`, PostgreSQL) in tests.

nginx is required: in CI (env CI set) its absence is a failure, elsewhere a skip
with the reason; `.ci/run` installs it. The stack runs outside the checkout with
the tests' clean environment, limits off (tests/utils/limits.py), no demo set,
and `X-Arena-Upstream` on responses so a test can tell which process answered.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from arena.config import load_settings
from arena.context import Arena
from deploy import nginx
from deploy.postgres import postgres_bin
from deploy.stack import Stack
from tests.utils.limits import NO_LIMITS_TOML
from tests.utils.processes import arena_env, outside_checkout
from tests.utils.server import LiveServer

UPSTREAM_HEADER = "x-arena-upstream"


def missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI installs every tool the tests need
    pytest.skip(reason)


def require_nginx() -> None:
    try:
        nginx.nginx_binary()
    except FileNotFoundError as exc:
        missing(f"{exc}; the deployment tests need it (.ci/run installs it)")


def require_postgres_server_binaries() -> None:
    try:
        postgres_bin()
    except RuntimeError as exc:
        missing(f"{exc}; a private cluster needs them (.ci/run installs them)")


@contextmanager
def arena_stack(tmp_path: Path, *, database_url: str | None = None, workers: int = 2,
                private_postgres: bool = False, env: dict[str, str] | None = None,
                **options: Any) -> Iterator[Stack]:
    """deploy/stack.py's Stack on *database_url* (or a private cluster), until the block ends."""
    require_nginx()
    if private_postgres:
        require_postgres_server_binaries()
    workdir = outside_checkout(tmp_path / "stack-cwd")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "arena.toml"
    config.write_text(NO_LIMITS_TOML + "battle.load_demo = false\n")
    with Stack(tmp_path / "stack-run", workers=workers, database_url=database_url,
               private_postgres=private_postgres, config=config, cwd=workdir,
               env=arena_env(**(env or {})), debug_upstream_header=True, **options) as stack:
        yield stack


def open_arena(database_url: str) -> Arena:
    """The stack's database from the test process (already migrated by the stack)."""
    return Arena.open(load_settings(database_url=database_url, battle={"load_demo": False}),
                      migrate=True)


@dataclass
class StackServer(LiveServer):
    """nginx's URL, the arena's database (as the tests' LiveServer) and the stack."""

    stack: Stack | None = None


@contextmanager
def stack_server(tmp_path: Path, database_url: str, **options: Any) -> Iterator[StackServer]:
    arena = open_arena(database_url)
    try:
        with arena_stack(tmp_path, database_url=database_url, **options) as stack:
            yield StackServer(url=stack.url, arena=arena, stack=stack)
    finally:
        arena.close()


def port_of(upstream: str) -> int:
    """The port of the process that answered, from X-Arena-Upstream (the last one tried)."""
    return int(upstream.split(",")[-1].strip().rsplit(":", 1)[1])


def upstream_port(response: httpx.Response) -> int:
    return port_of(response.headers[UPSTREAM_HEADER])


def state(stack: Stack) -> dict[str, Any]:
    return json.loads((stack.run_dir / "stack.json").read_text())
