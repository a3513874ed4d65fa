"""The real app served by uvicorn on 127.0.0.1 in a background thread."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from arena.app import create_app
from arena.context import Arena
from arena.web.http_limits import uvicorn_options
from deploy.postgres import free_port  # noqa: F401 - the tests take it from here
from tests.utils.uvicorn_thread import serve_in_thread
from tests.utils.waiting import wait_until


@dataclass
class LiveServer:
    url: str
    arena: Arena




@contextmanager
def refusing_port() -> Iterator[int]:
    """A port held (bound, not listening) until the block ends: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def wait_until_healthy(url: str, *, timeout: float,
                       check_alive: Callable[[], None] = lambda: None) -> None:
    """Poll GET {url}/healthz until 200; *check_alive* raises if the server died."""

    def healthy() -> bool:
        check_alive()
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, timeout=timeout, interval=0.1, what=f"{url} becoming healthy")


@contextmanager
def start_server(arena: Arena, *, wrap: Callable[[Any], Any] | None = None) -> Iterator[LiveServer]:
    """Serve create_app(arena) (optionally wrapped in ASGI middleware) until the block ends."""
    app = create_app(arena)
    with serve_in_thread(wrap(app) if wrap else app, proxy_headers=False, log_level="warning",
                         lifespan="on", **uvicorn_options(arena.settings.server)) as port:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, timeout=30)
        yield LiveServer(url=url, arena=arena)
