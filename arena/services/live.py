"""Live battles: two anonymous endpoints answer the voter's own prompt, streamed.

A turn is `new_battle` or `submit_prompt` (or `prepare_regenerate`) followed by
`run_turn`, which streams both sides at once and, when both ended, stores the
answers, per-turn timings and token counts, the identity-leak flag and each
model's health. A side that fails marks the battle failed: it can no longer be
voted.

A new battle is drawn in memory and stored, with its first answers, when its
first turn ends: the voter's first token never waits for the database, and a
turn costs one write. It can be voted only once stored and `ready`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from sqlalchemy import inspect
from sqlmodel import Session

from arena.config import Settings
from arena.config_live import LiveModelSettings
from arena.context import Arena
from arena.models import ArenaModel, Battle, BattlePublic
from arena.providers import PROVIDERS, TextDelta, Usage
from arena.providers.errors import ProviderError
from arena.services.answer_sets import get_or_create_models
from arena.services.battle_style import battle_style
from arena.services.battles import public_view
from arena.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from arena.services.identity import identity_leak
from arena.services.live_health import (
    available_models,
    drawable,
    live_model_status,
    paused_now,
    record_health,
)
from arena.services.voters import Voter
from arena.text import detect_language

log = logging.getLogger("arena.live")
SIDES = ("a", "b")
_rng = random.SystemRandom()


class ModelsUnavailable(NotFound):
    pass


@dataclass
class SideResult:
    text: str = ""
    error: ProviderError | None = None
    started: float = field(default_factory=time.perf_counter)
    first_token_s: float | None = None
    unsent: str = ""
    finished_s: float | None = None
    usage: Usage | None = None

    def stats(self) -> dict[str, Any]:
        return {
            "ttft_ms": round(self.first_token_s * 1000, 1) if self.first_token_s else None,
            "latency_ms": round(self.finished_s * 1000, 1) if self.finished_s else None,
            "prompt_tokens": self.usage.prompt_tokens if self.usage else None,
            "completion_tokens": self.usage.completion_tokens if self.usage else None,
            "chars": len(self.text),
            "error": self.error.kind if self.error else None,
        }


@dataclass(frozen=True)
class LiveUpdate:
    """One step of a turn as the voter may see it (never a model name)."""

    battle_id: str
    side: str | None
    delta: str
    texts: dict[str, str]
    errors: dict[str, str | None]
    finished: bool = False
    status: str = "generating"
    battle: BattlePublic | None = None  # on the finished update: the stored battle


def sync_models(session: Session, settings: Settings) -> None:
    """Create rows for configured models and copy their organization and license."""
    ids = get_or_create_models(session, [m.name for m in settings.models])
    for config in settings.models:
        row = session.get(ArenaModel, ids[config.name])
        if row and (row.organization, row.license) != (config.organization, config.license):
            row.organization, row.license = config.organization, config.license
            session.add(row)
    session.commit()


def _check_prompt(prompt: str, settings: Settings) -> str:
    prompt = prompt.strip()
    if not prompt:
        raise InvalidInput("type a prompt first")
    limit = settings.live.max_input_chars
    if len(prompt) > limit:
        raise InvalidInput(f"the prompt has {len(prompt)} characters; the limit is {limit}")
    return prompt


def _own_live_battle(session: Session, battle_id: str, voter: Voter) -> Battle:
    battle = session.get(Battle, battle_id)
    if battle is None or battle.mode != "live":
        raise NotFound(f"no live battle with id {battle_id!r}")
    if battle.voter_id != voter.id:
        raise Forbidden("this battle belongs to another voter session")
    return battle


def submit_prompt(session: Session, *, voter: Voter, prompt: str, settings: Settings,
                  battle_id: str | None = None, paused: Collection[str] | None = None,
                  rng: random.Random = _rng) -> Battle:
    """Continue the voter's battle with a new turn, or draw a new live battle.

    A battle continues while it is ready (not voted, not failed) and below
    live.max_turns; otherwise the prompt opens a new battle with a new pair,
    returned unsaved (see the module's docstring). *paused*: the models not to
    draw; read from the database when not given.
    """
    prompt = _check_prompt(prompt, settings)
    if battle_id:
        battle = _own_live_battle(session, battle_id, voter)
        if battle.status == "generating":
            raise Conflict("both answers are still being written")
        if battle.status == "ready":
            turns = sum(1 for m in battle.conversation_a if m["role"] == "user")
            if turns >= settings.live.max_turns:
                raise InvalidInput(
                    f"this battle reached {settings.live.max_turns} turns: vote, then start "
                    "a new battle")
            message = {"role": "user", "content": prompt}
            battle.conversation_a = [*battle.conversation_a, message]
            battle.conversation_b = [*battle.conversation_b, message]
            battle.status = "generating"
            session.add(battle)
            session.commit()
            return battle
    return draw_battle(settings, paused_now(session) if paused is None else paused,
                       voter=voter, prompt=prompt, rng=rng)


async def new_battle(arena: Arena, *, voter: Voter, prompt: str,
                     rng: random.Random = _rng) -> Battle:
    """A new live battle for *prompt*, drawn without waiting on the database."""
    prompt = _check_prompt(prompt, arena.settings)
    paused = await arena.paused_models.current_async()
    return draw_battle(arena.settings, paused, voter=voter, prompt=prompt, rng=rng)


def draw_battle(settings: Settings, paused: Collection[str], *, voter: Voter, prompt: str,
                rng: random.Random = _rng) -> Battle:
    """Two different models by sampling weight, in random order; the battle is not stored."""
    models = drawable(settings, paused)
    if len(models) < 2:
        raise ModelsUnavailable("fewer than two live models are available right now")
    first = rng.choices(models, weights=[m.weight for m in models])[0]
    rest = [m for m in models if m.name != first.name]
    second = rng.choices(rest, weights=[m.weight for m in rest])[0]
    pair = [first, second]
    rng.shuffle(pair)
    message = [{"role": "user", "content": prompt}]
    return Battle(
        id=secrets.token_hex(16), anony=True, mode="live",
        model_a=pair[0].name, model_b=pair[1].name,
        conversation_a=message, conversation_b=list(message), status="generating",
        language=detect_language(prompt), category=None,
        voter_id=voter.id, ip_hash=voter.ip_hash, ui_language=voter.ui_language,
        stats={"a": [], "b": []},
    )


def prepare_regenerate(session: Session, *, battle_id: str, voter: Voter) -> Battle:
    """Drop the last answers of a ready, unvoted battle so the turn runs again."""
    battle = _own_live_battle(session, battle_id, voter)
    if battle.status != "ready":
        raise Conflict("only a finished, unvoted battle can be regenerated")
    battle.conversation_a = battle.conversation_a[:-1]
    battle.conversation_b = battle.conversation_b[:-1]
    stats = battle.stats or {"a": [], "b": []}
    battle.stats = {side: list(stats.get(side, []))[:-1] for side in SIDES}
    battle.status = "generating"
    session.add(battle)
    session.commit()
    return battle


async def run_turn(arena: Arena, battle: Battle, *,
                   flush_interval: float = 0.0) -> AsyncIterator[LiveUpdate]:
    """Stream both answers of the pending turn, then store them; yields LiveUpdates.

    *battle* is what `new_battle`, `submit_prompt` or `prepare_regenerate`
    returned: those checked the voter and put the battle in the `generating`
    state. An unsaved battle is stored when the turn ends. Text that arrives
    within *flush_interval* seconds of the last update waits for the next one
    (one update per side then carries it all); the first never waits.
    """
    if battle.status != "generating":
        raise Conflict("this battle has no turn waiting for answers")
    battle_id = battle.id
    unsaved = battle if inspect(battle).transient else None
    configs = {m.name: m for m in arena.settings.models}
    results = {side: SideResult() for side in SIDES}
    conversations = {"a": battle.conversation_a, "b": battle.conversation_b}
    names = {"a": battle.model_a, "b": battle.model_b}
    client = arena.http_client()
    changed = asyncio.Event()
    ended: list[str] = []

    async def run_side(side: str) -> None:
        result = results[side]
        try:
            config = configs.get(names[side])
            if config is None:
                raise _Unconfigured(f"model {names[side]!r} is no longer configured")
            provider = PROVIDERS[config.provider](config, api_key=_api_key(config))
            async for event in provider.stream(conversations[side], client=client):
                if isinstance(event, TextDelta):
                    if result.first_token_s is None:
                        result.first_token_s = time.perf_counter() - result.started
                    result.text += event.text
                    result.unsent += event.text
                    changed.set()
                else:
                    result.usage = event
        except ProviderError as exc:
            result.error = exc
        finally:
            result.finished_s = time.perf_counter() - result.started
            ended.append(side)
            changed.set()

    tasks = [asyncio.create_task(run_side(side)) for side in SIDES]
    loop = asyncio.get_running_loop()
    finished = False
    try:
        reported, last_flush = 0, float("-inf")
        while reported < len(SIDES):
            await changed.wait()
            wait = last_flush + flush_interval - loop.time()
            if wait > 0 and len(ended) == reported:
                await asyncio.sleep(wait)
            changed.clear()
            last_flush = loop.time()
            for side in SIDES:
                delta, results[side].unsent = results[side].unsent, ""
                if delta:
                    yield _update(battle_id, results, side, delta)
            if len(ended) > reported:
                reported = len(ended)
                yield _update(battle_id, results, None, "")
        stored = await to_thread.run_sync(_finish_turn, arena, battle_id, results, unsaved)
        finished = True
        yield _update(battle_id, results, None, "", finished=True, status=stored.status,
                      battle=stored)
    finally:
        if not finished:  # the voter went away mid-turn: stop, and close the battle
            for task in tasks:
                task.cancel()
            for side in SIDES:
                results[side].error = results[side].error or _Cancelled("voter left mid-turn")
            await asyncio.shield(
                to_thread.run_sync(_finish_turn, arena, battle_id, results, unsaved))


class _Unconfigured(ProviderError):
    kind = "unconfigured"


class _Cancelled(ProviderError):
    kind = "cancelled"


def _api_key(config: LiveModelSettings) -> str | None:
    return os.environ.get(config.api_key_env) if config.api_key_env else None


def _update(battle_id: str, results: dict[str, SideResult], side: str | None, delta: str, *,
            finished: bool = False, status: str = "generating",
            battle: BattlePublic | None = None) -> LiveUpdate:
    return LiveUpdate(
        battle_id=battle_id, side=side, delta=delta,
        texts={s: r.text for s, r in results.items()},
        errors={s: (r.error.kind if r.error else None) for s, r in results.items()},
        finished=finished, status=status, battle=battle,
    )


def _finish_turn(arena: Arena, battle_id: str, results: dict[str, SideResult],
                 unsaved: Battle | None) -> BattlePublic:
    """Store the turn (and the battle, when new) in one transaction."""
    live = arena.settings.live
    with arena.session() as session:
        if unsaved is not None:
            battle = unsaved  # run_turn's caller no longer reads or changes it
            session.add(battle)
        else:
            found = session.get(Battle, battle_id)
            if found is None:
                raise NotFound(f"no live battle with id {battle_id!r}")
            if found.status != "generating":
                return public_view(found)
            battle = found
        battle.conversation_a = [*battle.conversation_a,
                                 {"role": "assistant", "content": results["a"].text}]
        battle.conversation_b = [*battle.conversation_b,
                                 {"role": "assistant", "content": results["b"].text}]
        stats = battle.stats or {}
        battle.stats = {s: [*stats.get(s, []), results[s].stats()] for s in SIDES}
        battle.style = battle_style(battle.conversation_a, battle.conversation_b)
        answers = [m["content"] for conv in (battle.conversation_a, battle.conversation_b)
                   for m in conv if m["role"] == "assistant"]
        word = identity_leak(answers, live.identity_words)
        if word:
            battle.identity_leak = True
            log.info("battle %s: identity leak (%r)", battle.id, word)
        failures = [(s, results[s].error) for s in SIDES if results[s].error]
        for side, error in failures:
            model = battle.model_a if side == "a" else battle.model_b
            log.warning("battle %s: %s failed (%s): %s", battle.id, model, error.kind,
                        error.detail)
        if failures:
            battle.status = "failed"
            battle.failure_reason = "; ".join(
                f"model_{side}: {error.kind}: {error.detail}" for side, error in failures)[:500]
        else:
            battle.status = "ready"
        session.add(battle)
        outcomes = {name: results[side].error for side, name in
                    (("a", battle.model_a), ("b", battle.model_b))
                    if not isinstance(results[side].error, _Cancelled)}
        paused = record_health(session, outcomes, threshold=live.failures_before_pause,
                               pause_seconds=live.pause_seconds)
        session.commit()
    for name, until in paused.items():
        arena.paused_models.note(name, until)
    return public_view(battle)


__all__ = ["available_models", "live_model_status", "ModelsUnavailable", "LiveUpdate",
           "new_battle", "submit_prompt", "draw_battle", "prepare_regenerate", "run_turn",
           "sync_models"]
