"""Request-scoped dependencies: the arena, a session, and who is asking."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
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
