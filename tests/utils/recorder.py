"""ASGI middleware that keeps a copy of every byte the server sends to clients."""

from __future__ import annotations

import threading
from typing import Any


class TrafficRecorder:
    """Wraps an ASGI app; `.text()` is everything sent so far (bodies and headers).

    Asks the inner app for uncompressed responses (drops Accept-Encoding), so
    what is recorded is exactly what the browser reads.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        scope["headers"] = [(k, v) for k, v in scope.get("headers", [])
                            if k.lower() != b"accept-encoding"]

        async def recording_send(message: dict[str, Any]) -> None:
            with self._lock:
                if message["type"] == "http.response.start":
                    for name, value in message.get("headers", []):
                        self._chunks.append(name + b": " + value + b"\n")
                elif message["type"] == "http.response.body":
                    self._chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, recording_send)

    def text(self) -> str:
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", errors="replace")

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
