"""Request-scoped dependencies: the arena, a session, and who is asking."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import HTTPException, Request
from sqlmodel import Session

from arena.context import Arena
from arena.services.voters import VOTER_HEADER, Voter, hash_ip, ui_language, valid_voter_id
from arena.web.voter_cookie import cookie_voter_id


def get_arena(request: Request) -> Arena:
    return request.app.state.arena


def get_session(request: Request) -> Iterator[Session]:
    with get_arena(request).session() as session:
        yield session


async def get_voter(request: Request) -> Voter:
    """X-Voter-Id when a script sends one, else the browser's voter cookie."""
    header = request.headers.get(VOTER_HEADER)
    voter_id = header if valid_voter_id(header) else cookie_voter_id(request.scope)
    client = request.client.host if request.client else None
    return Voter(
        id=voter_id,
        ip_hash=hash_ip(get_arena(request).salt, client),
        ui_language=ui_language(request.headers.get("accept-language")),
    )


def require_admin(request: Request) -> Arena:
    """The arena, for the owner only: the admin token as a bearer or X-Admin-Token."""
    arena = get_arena(request)
    expected = arena.settings.admin.token
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    given = given or request.headers.get("x-admin-token", "")
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="admin token required",
                            headers={"WWW-Authenticate": "Bearer"})
    return arena
