"""REST routes. Contract (kept exactly; other tools depend on it):

GET  /healthz                       200 when the app and its database answer
POST /api/battles           {}      201 {battle_id, anony, conversation_a, conversation_b, ...}
     (with "models": a named battle, by battle.named_mode: "off" 403, nothing to draw 404)
     (with "prompt": a live battle, see arena.api.live)
POST /api/battles/{id}/vote {winner} 200 {battle_id, winner, model_a, model_b}
     second vote 409, another voter 403, unknown id 404, bad body 422
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from arena import services
from arena.api.deps import get_arena, get_voter
from arena.api.live import start_live_battle
from arena.api.validation import CheckedBodyRoute
from arena.context import Arena
from arena.db import read_only
from arena.models import BattlePublic, NamedBattlePublic, VoteResult, Winner

router = APIRouter(route_class=CheckedBodyRoute)
log = logging.getLogger("arena.api")
VoterDep = Annotated[services.Voter, Depends(get_voter)]


class BattleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: tuple[str, str] | None = Field(
        default=None, description="Two model names for a named side-by-side battle."
    )
    prompt: str | None = Field(
        default=None, min_length=1,
        description="The voter's own prompt: a live battle between two model endpoints.",
    )
    stream: bool = Field(default=False, description="Live battles: stream answers as SSE.")


class VoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    winner: Winner


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    try:
        with read_only(get_arena(request).engine).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JSONResponse({"status": "unavailable", "detail": type(exc).__name__},
                            status_code=503)
    return JSONResponse({"status": "ok"})


@router.post("/api/battles", status_code=201,
             response_model=NamedBattlePublic | BattlePublic)
async def create_battle(body: BattleRequest, request: Request, voter: VoterDep) -> object:
    if body.prompt is not None:
        if body.models is not None:
            raise services.InvalidInput("live battles draw their models; omit 'models'")
        return await start_live_battle(request, voter, body.prompt, body.stream)
    if body.stream:
        raise services.InvalidInput("'stream' needs a 'prompt'")
    battle = await run_in_threadpool(_answer_set_battle, get_arena(request), voter, body.models)
    return as_json(battle, status_code=201)


def as_json(model: BaseModel, *, status_code: int = 200) -> Response:
    """*model*'s JSON, as FastAPI would send it for the route's response_model, without
    validating the service's own answer against that model again (a hot route's third
    most costly step after its database work and the framework's routing)."""
    return Response(model.model_dump_json(), status_code=status_code,
                    media_type="application/json")


def _answer_set_battle(arena: Arena, voter: services.Voter,
                       models: tuple[str, str] | None) -> BattlePublic:
    with arena.session() as session:
        return services.start_battle(
            session, voter=voter, answer_sets=arena.settings.battle.answer_sets, models=models,
            limits=arena.settings.limits, named_mode=arena.settings.battle.named_mode,
            sampler=arena.sampler, paused=arena.paused_models.current(),
        )


# The hot routes are async and make one worker-thread hop for all their database work
# (a session dependency would add two more: its enter and its exit run in threads too).
@router.post("/api/battles/{battle_id}/vote", response_model=VoteResult)
async def vote(battle_id: str, body: VoteRequest, request: Request,
               voter: VoterDep) -> Response:
    return as_json(await run_in_threadpool(_vote, get_arena(request), battle_id, body.winner,
                                           voter))


def _vote(arena: Arena, battle_id: str, winner: Winner, voter: services.Voter) -> VoteResult:
    with arena.session() as session:
        return services.record_vote(session, battle_id=battle_id, winner=winner, voter=voter,
                                    limits=arena.settings.limits)


@router.get("/api/battles/{battle_id}", response_model=NamedBattlePublic | BattlePublic)
async def show_battle(battle_id: str, request: Request, voter: VoterDep) -> BattlePublic:
    return await run_in_threadpool(_show_battle, get_arena(request), battle_id, voter)


def _show_battle(arena: Arena, battle_id: str, voter: services.Voter) -> BattlePublic:
    with arena.read_session() as session:
        return services.battle_for_voter(session, battle_id, voter)


STATUS_BY_ERROR = {
    services.NotFound: 404,
    services.Unauthorized: 401,
    services.Forbidden: 403,
    services.Conflict: 409,
    services.InvalidInput: 422,
    services.TooManyRequests: 429,
}


def database_unavailable_handler(_request: Request, exc: Exception) -> JSONResponse:
    """503 while the database cannot be reached (restarting, failing over). The request's
    transaction was rolled back, unless the connection broke during its COMMIT (then it
    may be stored: a retried vote gets 409). A clean answer, not a dropped connection,
    so that a proxy does not take this process for dead."""
    log.warning("database unavailable: %s", type(exc).__name__)
    return JSONResponse({"detail": "the database is unavailable; try again shortly"},
                        status_code=503, headers={"Retry-After": "1"})


def service_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    status = next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 400)
    headers = ({"Retry-After": str(exc.retry_after)}
               if isinstance(exc, services.TooManyRequests) else None)
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)
