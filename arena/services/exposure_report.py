"""How often each model was shown and voted on, against what the pair policy intended.

Counts anonymous battles people were shown (answer-set and live; not imports, not the
owner's trials) created in a window, and votes on them cast in the window. A model's
share is its appearances over twice the count (two models per battle), so shares
sum to 1. The intended share averages, over the window's battles drawn under a
recorded policy (``battle.intent_id``), the share that policy meant each model to
have (arena.services.sampling); battles drawn before intents were recorded count in
the actual shares only, and the report says how many had one.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from arena.models import Battle, SamplingIntent, Vote

SHOWN_MODES = ("answers", "live")


@dataclass(frozen=True)
class ModelExposure:
    model: str
    battles: int
    battle_share: float
    votes: int
    vote_share: float
    intended_share: float | None


@dataclass(frozen=True)
class ExposureReport:
    since: datetime | None
    until: datetime | None
    battles: int
    votes: int
    battles_with_intent: int
    policies: tuple[str, ...]
    models: tuple[ModelExposure, ...]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("since", "until"):
            out[key] = out[key].isoformat() if out[key] else None
        out["models"] = [asdict(m) for m in self.models]
        out["policies"] = list(self.policies)
        return out


def _window(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    out = []
    if since is not None:
        out.append(column >= since)
    if until is not None:
        out.append(column < until)
    return out


def exposure_report(session: Session, *, since: datetime | None = None,
                    until: datetime | None = None) -> ExposureReport:
    shown = [Battle.anony, Battle.mode.in_(SHOWN_MODES)]  # type: ignore[attr-defined]
    battle_rows = session.execute(
        select(Battle.model_a, Battle.model_b, Battle.intent_id, func.count())
        .where(*shown, *_window(Battle.created_at, since, until))
        .group_by(Battle.model_a, Battle.model_b, Battle.intent_id)).all()
    vote_rows = session.execute(
        select(Battle.model_a, Battle.model_b, func.count())
        .join(Vote, Vote.battle_id == Battle.id)
        .where(*shown, *_window(Vote.created_at, since, until))
        .group_by(Battle.model_a, Battle.model_b)).all()
    intent_ids = {intent for _, _, intent, _ in battle_rows if intent is not None}
    intents = {row.id: row for row in session.exec(
        select(SamplingIntent).where(SamplingIntent.id.in_(intent_ids)))} if intent_ids else {}  # type: ignore[union-attr]

    shown_count: Counter[str] = Counter()
    voted: Counter[str] = Counter()
    intended: Counter[str] = Counter()
    battles = with_intent = 0
    for a, b, intent, n in battle_rows:
        battles += n
        shown_count[a] += n
        shown_count[b] += n
        if intent in intents:
            with_intent += n
            for model, share in intents[intent].shares.items():
                intended[model] += share * n
    votes = 0
    for a, b, n in vote_rows:
        votes += n
        voted[a] += n
        voted[b] += n
    names = sorted(set(shown_count) | set(voted) | {m for m, s in intended.items() if s > 0})
    models = tuple(
        ModelExposure(
            model=name,
            battles=shown_count[name],
            battle_share=shown_count[name] / (2 * battles) if battles else 0.0,
            votes=voted[name],
            vote_share=voted[name] / (2 * votes) if votes else 0.0,
            intended_share=intended[name] / with_intent if with_intent else None,
        )
        for name in names
    )
    policies = tuple(sorted({intents[i].policy for i in intent_ids if i in intents}))
    return ExposureReport(since, until, battles, votes, with_intent, policies,
                          tuple(sorted(models, key=lambda m: (-m.battles, m.model))))


class ExposureCache:
    """Reports per window, at most ``ttl`` seconds old: the route is public and a report
    reads every battle of its window, so repeated requests must not each do that. Times
    are rounded down to the minute, and at most ``size`` windows are kept."""

    def __init__(self, ttl: float = 30.0, size: int = 64) -> None:
        self.ttl, self.size = ttl, size
        self._reports: dict[tuple[Any, Any], tuple[float, ExposureReport]] = {}
        self._lock = threading.Lock()

    def report(self, session: Session, *, since: datetime | None = None,
               until: datetime | None = None) -> ExposureReport:
        since, until = (None if t is None else t.replace(second=0, microsecond=0)
                        for t in (since, until))
        key, now = (since, until), time.monotonic()
        with self._lock:
            hit = self._reports.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        fresh = exposure_report(session, since=since, until=until)
        with self._lock:
            if len(self._reports) >= self.size:
                self._reports.clear()
            self._reports[key] = (now, fresh)
        return fresh


__all__ = ["ExposureCache", "ExposureReport", "ModelExposure", "exposure_report"]
