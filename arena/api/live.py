"""REST routes of live battles: the voter's prompt, answered by two endpoints.

POST /api/battles {"prompt": "...", "stream": false}   201 the battle once both answered
POST /api/battles {"prompt": "...", "stream": true}    200 text/event-stream:
     event: battle {battle_id} · event: delta {side, text} · event: done {battle}
POST /api/battles/{id}/turns {"prompt": ..., "stream"}  the next turn of the same battle
POST /api/battles/{id}/regenerate {"stream"}            the last turn answered again
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from arena import services
from arena.api.deps import get_arena, get_voter
from arena.api.validation import CheckedBodyRoute
from arena.context import Arena
from arena.models import Battle
from arena.services import live

router = APIRouter(route_class=CheckedBodyRoute)
# Text that arrives within this long of the last event waits for the next one:
# at most ~30 events a second per side, however fast the model writes.
STREAM_FLUSH_S = 0.03
VoterDep = Annotated[services.Voter, Depends(get_voter)]


class TurnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1)
    stream: bool = False


class RegenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stream: bool = False


def _submit(arena: Arena, voter: services.Voter, prompt: str, battle_id: str) -> Battle:
    with arena.session() as session:
        return live.submit_prompt(session, voter=voter, prompt=prompt, settings=arena.settings,
                                  battle_id=battle_id, paused=arena.paused_models.current(),
                                  sampler=arena.sampler)


def _regenerate(arena: Arena, voter: services.Voter, battle_id: str) -> Battle:
    with arena.session() as session:
        return live.prepare_regenerate(session, battle_id=battle_id, voter=voter)


def _done(update: live.LiveUpdate) -> dict[str, object]:
    if update.battle is None:
        raise RuntimeError("a turn's last update carries the stored battle")
    return {**update.battle.model_dump(), "errors": update.errors}


def _sse(event: str, payload: object) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


async def respond_with_turn(arena: Arena, battle: Battle, *, stream: bool,
                            status_code: int = 201) -> object:
    turn = live.start_turn(arena, battle)  # both requests leave before the response starts
    if not stream:
        updates = [update async for update in turn.updates()]
        return JSONResponse(_done(updates[-1]), status_code=status_code)

    async def events() -> AsyncIterator[bytes]:
        yield _sse("battle", {"battle_id": turn.battle_id})
        async with aclosing(turn.updates(flush_interval=STREAM_FLUSH_S)) as updates:
            async for update in updates:
                if update.side and update.delta:
                    yield _sse("delta", {"side": update.side, "text": update.delta})
                elif update.finished:
                    yield _sse("done", _done(update))

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                             background=BackgroundTask(turn.abandon))


async def start_live_battle(request: Request, voter: services.Voter, prompt: str,
                            stream: bool) -> object:
    arena = get_arena(request)
    battle = await live.new_battle(arena, voter=voter, prompt=prompt)
    return await respond_with_turn(arena, battle, stream=stream)


@router.post("/api/battles/{battle_id}/turns")
async def next_turn(battle_id: str, body: TurnRequest, request: Request,
                    voter: VoterDep) -> object:
    arena = get_arena(request)
    battle = await run_in_threadpool(_submit, arena, voter, body.prompt, battle_id)
    return await respond_with_turn(arena, battle, stream=body.stream,
                                   status_code=200 if battle.id == battle_id else 201)


@router.post("/api/battles/{battle_id}/regenerate")
async def regenerate(battle_id: str, body: RegenerateRequest, request: Request,
                     voter: VoterDep) -> object:
    arena = get_arena(request)
    battle = await run_in_threadpool(_regenerate, arena, voter, battle_id)
    return await respond_with_turn(arena, battle, stream=body.stream, status_code=200)
