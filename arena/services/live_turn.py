"""One turn of a live battle: both endpoints streamed at once, then stored.

`start_turn` sends both requests at once (before the voter's response has even
begun), `LiveTurn.updates()` relays the answers as LiveUpdates and, when both
ended, stores the turn in one transaction: the answers, per-turn timings and
token counts, the identity-leak flag and each model's health. A side that
fails marks the battle failed: it can no longer be voted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from sqlalchemy import inspect

from arena.config_live import LiveModelSettings
from arena.context import Arena
from arena.models import Battle, BattlePublic, utcnow
from arena.providers import PROVIDERS, TextDelta, Usage
from arena.providers.errors import ProviderError
from arena.services.battle_style import battle_style
from arena.services.battles import public_view
from arena.services.errors import Conflict, NotFound
from arena.services.identity import identity_leak, identity_words
from arena.services.live_failures import record_failure
from arena.services.live_health import record_health

log = logging.getLogger("arena.live")
SIDES = ("a", "b")


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


class LiveTurn:
    """The pending turn of *battle*, its two requests already on their way.

    *battle* is what `new_battle`, `submit_prompt` or `prepare_regenerate`
    returned: those checked the voter and put the battle in the `generating`
    state. An unsaved (new) battle is stored when the turn ends.
    """

    def __init__(self, arena: Arena, battle: Battle) -> None:
        if battle.status != "generating":
            raise Conflict("this battle has no turn waiting for answers")
        self.arena = arena
        self.battle_id = battle.id
        self._unsaved = battle if inspect(battle).transient else None
        self._results = {side: SideResult() for side in SIDES}
        self._changed = asyncio.Event()
        self._ended: list[str] = []
        self._stored = False
        self._started_relay = False
        configs = {m.name: m for m in arena.settings.models}
        client = arena.http_client()
        conversations = {"a": battle.conversation_a, "b": battle.conversation_b}
        names = {"a": battle.model_a, "b": battle.model_b}
        self._tasks = [
            asyncio.create_task(self._run_side(side, configs.get(names[side]), names[side],
                                               conversations[side], client))
            for side in SIDES
        ]

    async def _run_side(self, side: str, config: LiveModelSettings | None, name: str,
                        conversation: list[dict[str, str]], client: Any) -> None:
        result = self._results[side]
        try:
            if config is None:
                raise _Unconfigured(f"model {name!r} is no longer configured")
            provider = PROVIDERS[config.provider](config, api_key=api_key(config))
            async for event in provider.stream(conversation, client=client):
                if isinstance(event, TextDelta):
                    if result.first_token_s is None:
                        result.first_token_s = time.perf_counter() - result.started
                    result.text += event.text
                    result.unsent += event.text
                    self._changed.set()
                else:
                    result.usage = event
        except ProviderError as exc:
            result.error = exc
        finally:
            result.finished_s = time.perf_counter() - result.started
            self._ended.append(side)
            self._changed.set()

    async def updates(self, flush_interval: float = 0.0) -> AsyncIterator[LiveUpdate]:
        """The answers as they arrive, then a finished update with the stored battle.

        Text that arrives within *flush_interval* seconds of the last update
        waits for the next one (one update per side then carries it all); the
        first never waits. Leaving early (closing this iterator) stops both
        requests and stores the turn as cancelled.
        """
        self._started_relay = True
        loop = asyncio.get_running_loop()
        results = self._results
        try:
            reported, last_flush = 0, float("-inf")
            while reported < len(SIDES):
                await self._changed.wait()
                wait = last_flush + flush_interval - loop.time()
                if wait > 0 and len(self._ended) == reported:
                    await asyncio.sleep(wait)
                self._changed.clear()
                last_flush = loop.time()
                for side in SIDES:
                    delta, results[side].unsent = results[side].unsent, ""
                    if delta:
                        yield self._update(side, delta)
                if len(self._ended) > reported:
                    reported = len(self._ended)
                    yield self._update(None, "")
            stored = await self._store()
            yield self._update(None, "", finished=True, status=stored.status, battle=stored)
        finally:
            if not self._stored:
                await asyncio.shield(self._cancel())

    async def abandon(self) -> None:
        """For a caller whose voter left before the updates were read: stop and store."""
        if not self._started_relay and not self._stored:
            await self._cancel()

    async def _cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        for result in self._results.values():
            result.error = result.error or _Cancelled("voter left mid-turn")
        await self._store()

    async def _store(self) -> BattlePublic:
        self._stored = True
        return await to_thread.run_sync(_finish_turn, self.arena, self.battle_id,
                                        self._results, self._unsaved)

    def _update(self, side: str | None, delta: str, *, finished: bool = False,
                status: str = "generating", battle: BattlePublic | None = None) -> LiveUpdate:
        results = self._results
        return LiveUpdate(
            battle_id=self.battle_id, side=side, delta=delta,
            texts={s: r.text for s, r in results.items()},
            errors={s: (r.error.kind if r.error else None) for s, r in results.items()},
            finished=finished, status=status, battle=battle,
        )


def start_turn(arena: Arena, battle: Battle) -> LiveTurn:
    """Send both requests of *battle*'s pending turn now (inside the running loop)."""
    return LiveTurn(arena, battle)


async def run_turn(arena: Arena, battle: Battle, *,
                   flush_interval: float = 0.0) -> AsyncIterator[LiveUpdate]:
    """`start_turn` and its updates, in one call."""
    async with aclosing(start_turn(arena, battle).updates(flush_interval)) as updates:
        async for update in updates:
            yield update


class _Unconfigured(ProviderError):
    kind = "unconfigured"


class _Cancelled(ProviderError):
    kind = "cancelled"


def api_key(config: LiveModelSettings) -> str | None:
    return os.environ.get(config.api_key_env) if config.api_key_env else None


def _finish_turn(arena: Arena, battle_id: str, results: dict[str, SideResult],
                 unsaved: Battle | None) -> BattlePublic:
    """Store the turn (and the battle, when new) in one transaction."""
    live = arena.settings.live
    with arena.session() as session:
        if unsaved is not None:
            battle = unsaved  # the turn's caller no longer reads or changes it
            arena.sampler.persist_intent(session, battle.intent_id)
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
        word = identity_leak(answers, identity_words(arena.settings))
        if word:
            battle.identity_leak = True
            log.info("battle %s: identity leak (%r)", battle.id, word)
        failures = [(s, results[s].error) for s in SIDES if results[s].error]
        for side, error in failures:
            model = battle.model_a if side == "a" else battle.model_b
            log.warning("battle %s: %s failed (%s): %s", battle.id, model, error.kind,
                        error.detail)
            if not isinstance(error, _Cancelled):
                record_failure(session, model, error, battle_id=battle.id)
        battle.ready_at = utcnow()
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
    if unsaved is not None:
        arena.sampler.persisted(battle.intent_id)
    for name, until in paused.items():
        arena.paused_models.note(name, until)
    return public_view(battle)
