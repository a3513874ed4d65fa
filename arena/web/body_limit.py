"""ASGI middleware refusing request bodies over `server.max_body_kb`, before reading them.

Pure ASGI (like arena.web.voter_cookie), in front of every route: REST, Gradio's
routes, /admin. A request whose Content-Length is over the limit gets 413 at once,
its body unread (uvicorn discards what the client still sends, and the connection
stays usable). A body without a Content-Length (chunked) is read here up to the
limit: over it, 413 without the app being called; under it, the app gets the body as
if it came from the client. Nothing the app parses is ever larger than the limit.
"""

from __future__ import annotations

from typing import Any

import orjson


class BodyLimitMiddleware:
    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if length is not None:
            if not length.strip().isdigit() or int(length) > self.max_bytes:
                await self._refuse(send)
                return
        elif chunked:
            messages = await self._read_up_to_limit(receive)
            if messages is None:
                await self._refuse(send)
                return
            if not messages or messages[-1]["type"] != "http.request":
                return  # the client went away
            receive = _replay(messages, receive)
        await self.app(scope, receive, send)

    async def _read_up_to_limit(self, receive: Any) -> list[dict[str, Any]] | None:
        """The body's messages, or None once they pass the limit."""
        messages: list[dict[str, Any]] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    async def _refuse(self, send: Any) -> None:
        body = orjson.dumps({"detail": f"request body over the limit of "
                                       f"{self.max_bytes // 1024} KiB"})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[dict[str, Any]], receive: Any) -> Any:
    pending = list(messages)

    async def replaying() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        return await receive()

    return replaying
