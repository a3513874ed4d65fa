"""Running the real `arena` command in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.utils.server import free_port, wait_until_healthy


def arena_env(database_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    if database_url:
        env["ARENA_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def run_arena(*args: str, cwd: Path, env: dict[str, str],
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arena", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@contextmanager
def serving(cwd: Path, env: dict[str, str], *, port: int | None = None,
            extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """`arena serve` in a child process until the block ends; yields its URL."""
    port = port or free_port()
    log = (cwd / f"serve-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "arena", "serve", "--port", str(port), *extra_args],
        cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    def check_alive() -> None:
        if process.poll() is not None:
            log.flush()
            raise RuntimeError(f"arena serve exited: {(cwd / log.name).read_text()[-2000:]}")

    try:
        wait_until_healthy(url, timeout=90, check_alive=check_alive)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
