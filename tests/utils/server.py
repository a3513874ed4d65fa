"""The real app served by uvicorn on 127.0.0.1 in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from arena.app import create_app
from arena.context import Arena


@dataclass
class LiveServer:
    url: str
    arena: Arena


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, *, timeout: float,
                       check_alive: Callable[[], None] = lambda: None) -> None:
    """Poll GET {url}/healthz until 200; *check_alive* raises if the server died."""
    deadline = time.monotonic() + timeout
    while True:
        check_alive()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not become healthy within {timeout:g}s")
        time.sleep(0.1)


@contextmanager
def start_server(arena: Arena, *, wrap: Callable[[Any], Any] | None = None) -> Iterator[LiveServer]:
    """Serve create_app(arena) (optionally wrapped in ASGI middleware) until the block ends."""
    app = create_app(arena)
    port = free_port()
    config = uvicorn.Config(wrap(app) if wrap else app, host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(url, timeout=30)
    try:
        yield LiveServer(url=url, arena=arena)
    finally:
        server.should_exit = True
        server.force_exit = True  # do not wait for browsers' open event streams
        thread.join(timeout=10)
