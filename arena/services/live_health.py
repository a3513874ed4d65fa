"""Which live models may be drawn: configured, keyed, weighted and not paused.

A model that fails `live.failures_before_pause` times in a row is paused for
`live.pause_seconds` (stored on its row, so every process sees it). Drawing a
pair must not wait on the database, so each process keeps the paused set in
memory: changed at once by its own turns, re-read from the database when older
than `PausedModels.ttl` seconds (turns in other processes).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from anyio import to_thread
from sqlalchemy import Engine, bindparam, update
from sqlmodel import Session, select

from arena.config import Settings
from arena.config_live import LiveModelSettings
from arena.db import read_only
from arena.models import ArenaModel, utcnow
from arena.providers.errors import ProviderError
from arena.services.errors import NotFound
from arena.services.live_failures import failure_summaries

log = logging.getLogger("arena.live")


def drawable(settings: Settings, paused: Collection[str]) -> list[LiveModelSettings]:
    return [m for m in settings.models
            if m.weight > 0 and m.name not in paused and has_key(m)]


def available_models(session: Session, settings: Settings) -> list[LiveModelSettings]:
    """Configured models with a key at hand, a weight above zero and not paused (read now)."""
    return drawable(settings, paused_now(session))


def paused_now(session: Session) -> set[str]:
    now = utcnow()
    rows = session.exec(select(ArenaModel.name, ArenaModel.paused_until).where(
        ArenaModel.paused_until.is_not(None)))  # type: ignore[union-attr]
    return {name for name, until in rows if aware(until) > now}


def aware(moment: Any) -> Any:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def has_key(model: LiveModelSettings) -> bool:
    return model.api_key_env is None or bool(os.environ.get(model.api_key_env))


class PausedModels:
    """This process's copy of the paused models, at most *ttl* seconds old."""

    def __init__(self, engine: Engine, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._engine = engine
        self._until: dict[str, datetime] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()
        self._refreshing: asyncio.Future[None] | None = None

    def refresh(self) -> None:
        with Session(read_only(self._engine)) as session:
            rows = session.exec(select(ArenaModel.name, ArenaModel.paused_until).where(
                ArenaModel.paused_until.is_not(None))).all()  # type: ignore[union-attr]
        with self._lock:
            self._until = {name: aware(until) for name, until in rows}
            self._read_at = time.monotonic()

    def _stale(self) -> bool:
        return self._read_at is None or time.monotonic() - self._read_at > self.ttl

    def _names(self) -> set[str]:
        now = utcnow()
        with self._lock:
            return {name for name, until in self._until.items() if until > now}

    def current(self) -> set[str]:
        """The paused names; re-reads the database first when stale (blocking)."""
        if self._stale():
            self.refresh()
        return self._names()

    async def current_async(self) -> set[str]:
        """The paused names without waiting on the database once a first copy exists:
        a stale copy is used while one refresh runs in the background."""
        if self._read_at is None:
            await to_thread.run_sync(self.refresh)
        elif self._stale() and not self._refresh_running():
            self._refreshing = asyncio.ensure_future(to_thread.run_sync(self._refresh_logged))
        return self._names()

    def _refresh_running(self) -> bool:
        # A refresh started on an event loop that has since closed never finishes.
        running = self._refreshing
        return (running is not None and not running.done()
                and running.get_loop() is asyncio.get_running_loop())

    def _refresh_logged(self) -> None:
        try:
            self.refresh()
        except Exception:  # the stale copy stays in use; the next draw tries again
            log.exception("could not re-read paused models")

    def note(self, name: str, until: datetime | None) -> None:
        with self._lock:
            if until is None:
                self._until.pop(name, None)
            else:
                self._until[name] = aware(until)


_model = ArenaModel.__table__.c  # type: ignore[attr-defined]
_RESET_HEALTH = (
    update(ArenaModel.__table__)  # type: ignore[arg-type]
    .where(_model.name.in_(bindparam("names", expanding=True)),
           (_model.consecutive_failures != 0) | _model.paused_until.is_not(None))
    .values(consecutive_failures=0, paused_until=None)
)


def record_health(session: Session, outcomes: dict[str, ProviderError | None], *,
                  threshold: int, pause_seconds: float) -> dict[str, datetime | None]:
    """Count each model's failures in a row (error, or None for an answer) and pause
    it at *threshold*. Returns the paused-until time of each model recorded."""
    changed: dict[str, datetime | None] = {}
    answered = [name for name, error in outcomes.items() if error is None]
    if answered:  # one statement, and usually no row to change
        session.connection().execute(_RESET_HEALTH, {"names": answered})
        changed.update(dict.fromkeys(answered))
    for name, error in outcomes.items():
        if error is None:
            continue
        model = session.exec(select(ArenaModel).where(ArenaModel.name == name)).first()
        if model is None:
            continue
        model.consecutive_failures += 1
        if model.consecutive_failures >= threshold:
            model.paused_until = utcnow() + timedelta(seconds=pause_seconds)
            log.warning("model %s paused for %.0fs after %d failures in a row", name,
                        pause_seconds, model.consecutive_failures)
        changed[name] = model.paused_until
        session.add(model)
    return changed


def unpause_model(session: Session, name: str) -> bool:
    """Let a paused model be drawn again at once. False if it was not paused."""
    model = session.exec(select(ArenaModel).where(ArenaModel.name == name)).first()
    if model is None:
        raise NotFound(f"no model named {name!r}")
    was_paused = model.paused_until is not None and aware(model.paused_until) > utcnow()
    model.paused_until, model.consecutive_failures = None, 0
    session.add(model)
    session.commit()
    log.info("model %s unpaused by the owner", name)
    return was_paused


def live_model_status(session: Session, settings: Settings) -> list[dict[str, Any]]:
    """For the owner: each configured model, whether it is sampled now, its last failure."""
    rows = {m.name: m for m in session.exec(select(ArenaModel))}
    failures = failure_summaries(session)
    now = utcnow()
    status = []
    for config in settings.models:
        row = rows.get(config.name)
        paused = row is not None and row.paused_until is not None and aware(
            row.paused_until) > now
        status.append({
            "model": config.name,
            "available": (not paused) and has_key(config) and config.weight > 0,
            "paused_until": row.paused_until if paused and row else None,
            "missing_key": not has_key(config),
            "weight": config.weight,
            "consecutive_failures": row.consecutive_failures if row else 0,
            "last_failure": failures.get(config.name),
        })
    return status
