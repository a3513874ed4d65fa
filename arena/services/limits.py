"""How many battles and votes one voter, and one IP, may have per window.

The policy is pure (`LimitPolicy`: windows and their limits), so a benchmark
can replay it; `enforce` applies it in the database with fixed-window
counters that every process shares (`rate_bucket`): one atomic
insert-or-increment per window, inside the caller's transaction, so a refused
request rolls back with nothing stored, and concurrent requests cannot slip
past a limit (PostgreSQL serialises the increments on the row; SQLite has one
writer).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import TextClause, text
from sqlmodel import Session

from arena.config import LimitSettings
from arena.services.errors import TooManyRequests

Action = Literal["battle", "vote"]
Scope = Literal["voter", "ip"]
MINUTE, DAY = 60, 86_400


@dataclass(frozen=True)
class Window:
    action: Action
    scope: Scope
    seconds: int
    limit: int

    def start(self, now: float) -> int:
        """The fixed window containing *now* starts at a multiple of its length."""
        return int(now // self.seconds) * self.seconds


@dataclass(frozen=True)
class LimitPolicy:
    windows: tuple[Window, ...]

    @classmethod
    def from_settings(cls, settings: LimitSettings) -> LimitPolicy:
        if not settings.enabled:
            return cls(())
        return cls((
            Window("battle", "voter", MINUTE, settings.battles_per_minute_voter),
            Window("battle", "ip", MINUTE, settings.battles_per_minute_ip),
            Window("vote", "voter", MINUTE, settings.votes_per_minute_voter),
            Window("vote", "ip", MINUTE, settings.votes_per_minute_ip),
            Window("vote", "voter", DAY, settings.votes_per_day_voter),
        ))

    def allows(self, window: Window, count_so_far: int) -> bool:
        """May one more happen in *window* after *count_so_far* in it?"""
        return count_so_far < window.limit

    def for_action(self, action: Action) -> tuple[Window, ...]:
        return tuple(w for w in self.windows if w.action == action)


def too_fast(elapsed_s: float, answer_chars: int, settings: LimitSettings) -> bool:
    """Voted sooner after the answers were shown than a person could read them."""
    floor = settings.too_fast_min_seconds + answer_chars / 1000 * (
        settings.too_fast_seconds_per_1000_chars)
    return elapsed_s < floor


_PRUNE = text("DELETE FROM rate_bucket WHERE window_end < :before")
_PRUNE_EVERY_S = 300.0
_last_prune = 0.0


@functools.cache
def _increment(dialect: str, rows: int) -> TextClause:
    """One insert-or-increment of *rows* counters, returning each key's new count."""
    values = ", ".join(f"(:key{i}, :end{i}, 1)" for i in range(rows))
    current = "rate_bucket.count" if dialect == "postgresql" else "count"
    return text(f"INSERT INTO rate_bucket (key, window_end, count) VALUES {values} "
                f"ON CONFLICT (key) DO UPDATE SET count = {current} + 1 RETURNING key, count")


def enforce(session: Session, policy: LimitPolicy, action: Action, *, voter_id: str,
            ip_hash: str | None, now: float | None = None) -> None:
    """Count one *action* for the voter and the IP in every window of the policy, in the
    caller's transaction (one statement for all windows). When a window is full, rolls
    that transaction back (nothing of the request is stored) and raises TooManyRequests."""
    now = time.time() if now is None else now
    counted: dict[str, tuple[Window, int]] = {}
    for window in policy.for_action(action):
        subject = voter_id if window.scope == "voter" else ip_hash
        if subject is not None:
            start = window.start(now)
            counted[f"{action}:{window.scope}:{window.seconds}:{start}:{subject}"] = (
                window, start)
    if not counted:
        return
    connection = session.connection()
    _maybe_prune(connection, now)
    params: dict[str, object] = {}
    for i, (key, (window, start)) in enumerate(counted.items()):
        params[f"key{i}"] = key
        params[f"end{i}"] = datetime.fromtimestamp(start + window.seconds, UTC)
    statement = _increment(connection.dialect.name, len(counted))
    counts: dict[str, int] = dict(connection.execute(statement, params).all())  # type: ignore[arg-type]
    for key, (window, start) in counted.items():
        if not policy.allows(window, counts[key] - 1):
            retry = max(1, math.ceil(start + window.seconds - now))
            per = "minute" if window.seconds == MINUTE else "day"
            who = "this voter" if window.scope == "voter" else "this network address"
            session.rollback()
            raise TooManyRequests(
                f"too many {action}s from {who}: at most {window.limit} per {per}; "
                f"try again in {retry} s", retry_after=retry)


def _maybe_prune(connection: object, now: float) -> None:
    global _last_prune
    if now - _last_prune < _PRUNE_EVERY_S:
        return
    _last_prune = now
    connection.execute(_PRUNE, {"before": datetime.fromtimestamp(now - DAY, UTC)})  # type: ignore[attr-defined]
