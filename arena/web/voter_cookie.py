"""ASGI middleware giving every browser a server-made voter id in a signed cookie.

Pure ASGI (not BaseHTTPMiddleware) so Gradio's streamed responses pass
untouched. A request without a cookie this arena signed (none, unsigned,
forged, or another arena's) gets a new id, visible to the handlers of that same
request through ``scope["state"]``, and the signed cookie in its response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import cookie_parser

from arena.services.voters import (
    VOTER_COOKIE,
    new_voter_id,
    sign_voter_id,
    verified_voter_id,
)

COOKIE_MAX_AGE = 60 * 60 * 24 * 365


def _cookie_from_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    # Starlette's lenient parser (as browsers read cookies): a garbled header is no cookie,
    # and it costs a tenth of http.cookies' on every request.
    for name, value in headers:
        if name == b"cookie":
            found = cookie_parser(value.decode("latin-1")).get(VOTER_COOKIE)
            if found:
                return found
    return None


def cookie_voter_id(scope: dict[str, Any]) -> str:
    return scope["state"]["voter_id"]


class VoterCookieMiddleware:
    def __init__(self, app: Any, *, secret: Callable[[], str]) -> None:
        self.app = app
        self.secret = secret  # the arena's secret, read when first needed

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        existing = verified_voter_id(self.secret(), _cookie_from_headers(scope.get("headers", [])))
        voter_id = existing or new_voter_id()
        scope.setdefault("state", {})["voter_id"] = voter_id
        if existing:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                cookie = (
                    f"{VOTER_COOKIE}={sign_voter_id(self.secret(), voter_id)}; Path=/; "
                    f"Max-Age={COOKIE_MAX_AGE}; "
                    "HttpOnly; SameSite=Lax"
                )
                message.setdefault("headers", []).append((b"set-cookie", cookie.encode()))
            await send(message)

        await self.app(scope, receive, send_with_cookie)
