"""Request-scoped dependencies: the arena, a session, and who is asking."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import HTTPException, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from arena.context import Arena
from arena.services.voters import VOTER_HEADER, RequestFacts, Voter, resolve_voter
from arena.web.voter_cookie import cookie_voter_id


def get_arena(request: Request) -> Arena:
    return request.app.state.arena


def get_read_session(request: Request) -> Iterator[Session]:
    """For routes that only read: on SQLite it never waits for the write lock."""
    with get_arena(request).read_session() as session:
        yield session


async def get_voter(request: Request) -> Voter:
    """Who is asking, decided by arena.services.voters.resolve_voter."""
    arena = get_arena(request)
    facts = RequestFacts(
        client_host=request.client.host if request.client else None,
        headers={name.lower(): value for name, value in request.headers.items()},
        cookie_voter_id=cookie_voter_id(request.scope),
    )
    if VOTER_HEADER.lower() in facts.headers:  # the API key is looked up in the database
        return await run_in_threadpool(resolve_voter, arena, facts)
    return resolve_voter(arena, facts)


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
