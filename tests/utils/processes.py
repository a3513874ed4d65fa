"""Running the real `arena` command in a child process.

A child starts in the directory the test names (never the checkout) with a
clean environment: a few system variables, none of the shell's ARENA_* or
proxy settings, plus what the test passes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.utils.server import free_port, wait_until_healthy

REPO = Path(__file__).resolve().parents[2]
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "SYSTEMROOT")
BIND_ATTEMPTS = 3


def arena_env(database_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    if database_url:
        env["ARENA_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def outside_checkout(cwd: Path) -> Path:
    """*cwd*, after checking it is not the checkout, whose config/ and arena.db are the owner's."""
    resolved = cwd.resolve()
    if resolved == REPO or REPO in resolved.parents:
        raise ValueError(f"child processes of the tests must not run inside the checkout: {cwd}")
    return cwd


def arena_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "arena", *args]


def run_arena(*args: str, cwd: Path, env: dict[str, str],
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(arena_command(*args), cwd=outside_checkout(cwd), env=env,
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()


@contextmanager
def serving(cwd: Path, env: dict[str, str], *, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """`arena serve` in a child process until the block ends; yields its URL."""
    with serving_process(cwd, env, extra_args=extra_args) as served:
        yield served.url


@contextmanager
def serving_process(cwd: Path, env: dict[str, str], *,
                    extra_args: tuple[str, ...] = ()) -> Iterator[Served]:
    """`arena serve` in a child process until the block ends: its URL, process and log.

    `arena serve` cannot listen on port 0 and report the port it got, so a free
    port is picked first; when another process takes it meanwhile, the child
    fails to bind and a new port is tried.
    """
    for attempt in range(BIND_ATTEMPTS):
        port = free_port()
        log_path = outside_checkout(cwd) / f"serve-{port}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(arena_command("serve", "--port", str(port), *extra_args),
                                       cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"

        def check_alive(process: subprocess.Popen[bytes] = process,
                        log_path: Path = log_path) -> None:
            if process.poll() is not None:
                raise ChildExited(log_path.read_text()[-2000:])

        try:
            try:
                wait_until_healthy(url, timeout=90, check_alive=check_alive)
            except ChildExited as exc:
                if "address already in use" in str(exc) and attempt + 1 < BIND_ATTEMPTS:
                    continue
                raise RuntimeError(f"arena serve exited: {exc}") from None
            yield Served(url, process, log_path)
            return
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class ChildExited(RuntimeError):
    """The child process ended before it was healthy; the message is its log's tail."""
