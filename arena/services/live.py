"""Live battles: two anonymous endpoints answer the voter's own prompt, streamed.

A turn is `submit_prompt` (or `prepare_regenerate`) followed by `run_turn`,
which streams both sides at once and, when both ended, stores the answers,
per-turn timings and token counts, the identity-leak flag and each model's
health. A side that fails marks the battle failed: it can no longer be voted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from anyio import to_thread
from sqlmodel import Session, select

from arena.config import Settings
from arena.config_live import LiveModelSettings
from arena.context import Arena
from arena.models import ArenaModel, Battle, utcnow
from arena.providers import PROVIDERS, TextDelta, Usage
from arena.providers.errors import ProviderError
from arena.services.answer_sets import get_or_create_models
from arena.services.battle_style import battle_style
from arena.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from arena.services.identity import identity_leak
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


def available_models(session: Session, settings: Settings) -> list[LiveModelSettings]:
    """Configured models with a key at hand, a weight above zero and not paused."""
    now = utcnow()
    paused = {
        name for name, until in session.exec(
            select(ArenaModel.name, ArenaModel.paused_until).where(
                ArenaModel.paused_until.is_not(None))  # type: ignore[union-attr]
        )
        if _aware(until) > now
    }
    return [m for m in settings.models
            if m.weight > 0 and m.name not in paused and _has_key(m)]


def _aware(moment: Any) -> Any:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _has_key(model: LiveModelSettings) -> bool:
    return model.api_key_env is None or bool(os.environ.get(model.api_key_env))


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
                  battle_id: str | None = None, rng: random.Random = _rng) -> Battle:
    """Continue the voter's battle with a new turn, or start a new live battle.

    A battle continues while it is ready (not voted, not failed) and below
    live.max_turns; otherwise the prompt opens a new battle with a new pair.
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
    return _new_battle(session, voter=voter, prompt=prompt, settings=settings, rng=rng)


def _new_battle(session: Session, *, voter: Voter, prompt: str, settings: Settings,
                rng: random.Random) -> Battle:
    models = available_models(session, settings)
    if len(models) < 2:
        raise ModelsUnavailable("fewer than two live models are available right now")
    first = rng.choices(models, weights=[m.weight for m in models])[0]
    rest = [m for m in models if m.name != first.name]
    second = rng.choices(rest, weights=[m.weight for m in rest])[0]
    pair = [first, second]
    rng.shuffle(pair)
    message = [{"role": "user", "content": prompt}]
    battle = Battle(
        id=secrets.token_hex(16), anony=True, mode="live",
        model_a=pair[0].name, model_b=pair[1].name,
        conversation_a=message, conversation_b=list(message), status="generating",
        language=detect_language(prompt), category=None,
        voter_id=voter.id, ip_hash=voter.ip_hash, ui_language=voter.ui_language,
        stats={"a": [], "b": []},
    )
    session.add(battle)
    session.commit()
    return battle


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


async def run_turn(arena: Arena, battle: Battle) -> AsyncIterator[LiveUpdate]:
    """Stream both answers of the pending turn, then store them; yields LiveUpdates.

    *battle* is what `submit_prompt` or `prepare_regenerate` returned: those
    checked the voter and put the battle in the `generating` state.
    """
    if battle.status != "generating":
        raise Conflict("this battle has no turn waiting for answers")
    battle_id = battle.id
    configs = {m.name: m for m in arena.settings.models}
    results = {side: SideResult() for side in SIDES}
    queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue()
    conversations = {"a": battle.conversation_a, "b": battle.conversation_b}
    names = {"a": battle.model_a, "b": battle.model_b}

    async def run_side(side: str) -> None:
        result = results[side]
        try:
            config = configs.get(names[side])
            if config is None:
                raise _Unconfigured(f"model {names[side]!r} is no longer configured")
            provider = PROVIDERS[config.provider](config, api_key=_api_key(config))
            async for event in provider.stream(conversations[side], client=arena.http_client()):
                if isinstance(event, TextDelta):
                    if result.first_token_s is None:
                        result.first_token_s = time.perf_counter() - result.started
                    result.text += event.text
                    queue.put_nowait((side, event.text))
                else:
                    result.usage = event
        except ProviderError as exc:
            result.error = exc
        finally:
            result.finished_s = time.perf_counter() - result.started
            queue.put_nowait(None)

    tasks = [asyncio.create_task(run_side(side)) for side in SIDES]
    finished = False
    try:
        running = len(tasks)
        while running:
            items = [await queue.get()]
            while not queue.empty():  # under load, send what piled up as one delta per side
                items.append(queue.get_nowait())
            deltas = {side: "".join(d for s, d in filter(None, items) if s == side)
                      for side in SIDES}
            for side in SIDES:
                if deltas[side]:
                    yield _update(battle_id, results, side, deltas[side])
            ended = items.count(None)
            if ended:
                running -= ended
                yield _update(battle_id, results, None, "")
        status = await to_thread.run_sync(_finish_turn, arena, battle_id, results)
        finished = True
        yield _update(battle_id, results, None, "", finished=True, status=status)
    finally:
        if not finished:  # the voter went away mid-turn: stop and close the battle
            for task in tasks:
                task.cancel()
            for side in SIDES:
                results[side].error = results[side].error or _Cancelled("voter left mid-turn")
            await asyncio.shield(to_thread.run_sync(_finish_turn, arena, battle_id, results))


class _Unconfigured(ProviderError):
    kind = "unconfigured"


class _Cancelled(ProviderError):
    kind = "cancelled"


def _api_key(config: LiveModelSettings) -> str | None:
    return os.environ.get(config.api_key_env) if config.api_key_env else None


def _update(battle_id: str, results: dict[str, SideResult], side: str | None, delta: str, *,
            finished: bool = False, status: str = "generating") -> LiveUpdate:
    return LiveUpdate(
        battle_id=battle_id, side=side, delta=delta,
        texts={s: r.text for s, r in results.items()},
        errors={s: (r.error.kind if r.error else None) for s, r in results.items()},
        finished=finished, status=status,
    )


def _finish_turn(arena: Arena, battle_id: str, results: dict[str, SideResult]) -> str:
    live = arena.settings.live
    with arena.session() as session:
        battle = session.get(Battle, battle_id)
        if battle is None or battle.status != "generating":
            return battle.status if battle else "failed"
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
        _record_health(session, battle, results, live.failures_before_pause, live.pause_seconds)
        session.commit()
        return battle.status


def _record_health(session: Session, battle: Battle, results: dict[str, SideResult],
                   threshold: int, pause_seconds: float) -> None:
    for side, name in (("a", battle.model_a), ("b", battle.model_b)):
        error = results[side].error
        if isinstance(error, _Cancelled):
            continue
        model = session.exec(select(ArenaModel).where(ArenaModel.name == name)).first()
        if model is None:
            continue
        if error is None:
            model.consecutive_failures, model.paused_until = 0, None
        else:
            model.consecutive_failures += 1
            if model.consecutive_failures >= threshold:
                model.paused_until = utcnow() + timedelta(seconds=pause_seconds)
                log.warning("model %s paused for %.0fs after %d failures in a row", name,
                            pause_seconds, model.consecutive_failures)
        session.add(model)


def live_model_status(session: Session, settings: Settings) -> list[dict[str, Any]]:
    """For the owner: each configured model and whether it is sampled now."""
    rows = {m.name: m for m in session.exec(select(ArenaModel))}
    now = utcnow()
    status = []
    for config in settings.models:
        row = rows.get(config.name)
        paused = row is not None and row.paused_until is not None and _aware(
            row.paused_until) > now
        status.append({
            "model": config.name,
            "available": (not paused) and _has_key(config) and config.weight > 0,
            "paused_until": row.paused_until if paused and row else None,
            "missing_key": not _has_key(config),
            "consecutive_failures": row.consecutive_failures if row else 0,
        })
    return status

