"""REST routes. Contract (kept exactly; other tools depend on it):

GET  /healthz                       200 when the app and its database answer
POST /api/battles           {}      201 {battle_id, anony, conversation_a, conversation_b, ...}
POST /api/battles/{id}/vote {winner} 200 {battle_id, winner, model_a, model_b}
     second vote 409, another voter 403, unknown id 404, bad body 422
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlmodel import Session

from arena import services
from arena.api.deps import get_arena, get_session, get_voter
from arena.models import BattlePublic, NamedBattlePublic, VoteResult, Winner

router = APIRouter()
SessionDep = Annotated[Session, Depends(get_session)]
VoterDep = Annotated[services.Voter, Depends(get_voter)]


class BattleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: tuple[str, str] | None = Field(
        default=None, description="Two model names for a named side-by-side battle."
    )


class VoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    winner: Winner


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    try:
        with get_arena(request).engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JSONResponse({"status": "unavailable", "detail": type(exc).__name__},
                            status_code=503)
    return JSONResponse({"status": "ok"})


@router.post("/api/battles", status_code=201,
             response_model=NamedBattlePublic | BattlePublic)
def create_battle(
    body: BattleRequest, request: Request, session: SessionDep, voter: VoterDep
) -> BattlePublic:
    settings = get_arena(request).settings
    return services.start_battle(
        session, voter=voter, answer_sets=settings.battle.answer_sets, models=body.models
    )


@router.post("/api/battles/{battle_id}/vote", response_model=VoteResult)
def vote(battle_id: str, body: VoteRequest, session: SessionDep, voter: VoterDep) -> VoteResult:
    return services.record_vote(session, battle_id=battle_id, winner=body.winner, voter=voter)


@router.get("/api/battles/{battle_id}", response_model=NamedBattlePublic | BattlePublic)
def show_battle(battle_id: str, session: SessionDep, voter: VoterDep) -> BattlePublic:
    battle = services.get_battle(session, battle_id)
    if battle.voter_id != voter.id:
        raise services.Forbidden("this battle belongs to another voter session")
    return services.public_view(battle)


STATUS_BY_ERROR = {
    services.NotFound: 404,
    services.Forbidden: 403,
    services.Conflict: 409,
    services.InvalidInput: 422,
}


def service_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    status = next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 400)
    return JSONResponse({"detail": str(exc)}, status_code=status)
