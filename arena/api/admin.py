"""The owner's REST routes for live models, behind the admin token.

GET  /api/admin/models                    each live model: available, paused, last failure
POST /api/admin/models/check {"models"}   a tiny request to each endpoint (nothing stored)
POST /api/admin/models/{name}/unpause     draw a paused model again now
POST /api/admin/models/reload             re-read the config file's models
POST /api/admin/battles {"models": [a, b], "prompt", "stream"}
                                          a named trial battle: never voted, never rated
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from arena.api.deps import require_admin
from arena.api.live import respond_with_turn
from arena.context import Arena
from arena.services import live
from arena.services.live_check import DEFAULT_SLOW_S, check_models
from arena.services.live_config import reload_models
from arena.services.live_health import live_model_status, unpause_model

router = APIRouter(prefix="/api/admin")
Owner = Annotated[Arena, Depends(require_admin)]


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=list)
    slow_after: float = Field(default=DEFAULT_SLOW_S, gt=0)


class TrialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(min_length=2, max_length=2)
    prompt: str = Field(min_length=1)
    stream: bool = False


def _status(arena: Arena) -> list[dict[str, Any]]:
    with arena.read_session() as session:
        rows = live_model_status(session, arena.settings)
    for row in rows:
        failure = row.pop("last_failure")
        row["last_failure"] = None if failure is None else {
            "kind": failure.kind, "at": failure.at.isoformat(), "reason": failure.reason,
            "last_hour": failure.last_hour}
        if row["paused_until"] is not None:
            row["paused_until"] = row["paused_until"].isoformat()
    return rows


@router.get("/models")
async def models(arena: Owner) -> dict[str, Any]:
    data = await run_in_threadpool(_status, arena)
    return {"data": data, "count": len(data)}


@router.post("/models/check")
async def check(body: CheckRequest, arena: Owner) -> dict[str, Any]:
    results = await check_models(arena.settings, body.models, client=arena.http_client(),
                                 slow_after=body.slow_after)
    data = [{"model": r.model, "ok": r.ok, "verdict": r.verdict, "ttft_s": r.ttft_s,
             "detail": r.detail} for r in results]
    return {"data": data, "count": len(data), "ok": all(r.ok for r in results)}


@router.post("/models/{name}/unpause")
async def unpause(name: str, arena: Owner) -> dict[str, Any]:
    def run() -> bool:
        with arena.session() as session:
            return unpause_model(session, name)

    was_paused = await run_in_threadpool(run)
    arena.paused_models.note(name, None)
    return {"model": name, "was_paused": was_paused}


@router.post("/models/reload")
async def reload(arena: Owner) -> dict[str, Any]:
    result = await run_in_threadpool(reload_models, arena)
    return {"added": result.added, "removed": result.removed, "changed": result.changed,
            "summary": result.summary()}


@router.post("/battles")
async def trial(body: TrialRequest, arena: Owner) -> object:
    battle = live.trial_battle(arena.settings, body.models, prompt=body.prompt)
    return await respond_with_turn(arena, battle, stream=body.stream)
