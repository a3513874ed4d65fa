"""An ASGI app served by uvicorn in a background thread, on a port the system gives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.utils.waiting import wait_until


@contextmanager
def serve_in_thread(app: Any, **options: Any) -> Iterator[int]:
    """Serve *app* with uvicorn on 127.0.0.1, on a port the system gives; yields the port."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def started() -> bool:
        if not thread.is_alive() and not server.started:
            raise RuntimeError("uvicorn stopped before it started serving")
        return server.started

    try:
        wait_until(started, timeout=30, what="uvicorn starting")
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        server.force_exit = True  # do not wait for open event streams
        thread.join(timeout=10)
