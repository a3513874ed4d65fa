"""Every countable vote as compact numpy columns, loaded once and then kept current.

:class:`VoteStore` reads ``vote JOIN battle`` in batches on first use and
afterwards only the votes whose id is above the last one seen.  PostgreSQL
hands out ids before commit, so a vote can become visible after one with a
higher id: each poll re-reads a margin of ids below the highest seen and
drops the ones already held.  A full reload every ``reload_seconds``, read in
a background thread and swapped in, picks up battles flagged after their vote.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, Float, Text, cast, extract, select
from sqlmodel import Session

from arena.models import Battle, Vote
from arena.services.battle_style import battle_style
from arena.services.counting import REASONS, flags_changed_at, reason_expressions
from ratings.data import DEFAULT_OUTCOME_MAP

log = logging.getLogger("arena.leaderboard")
LANGUAGES: tuple[str, ...] = ("en", "zh", "other")
"""Language codes 0..2 of a view; a battle without a language (code 3) counts only overall."""
NO_LANGUAGE = 3
ID_MARGIN = 1000
BATCH = 20_000
_OUTCOME = {label: int(code) for label, code in DEFAULT_OUTCOME_MAP.items() if code is not None}
_COLUMNS = (
    ("ids", np.int64), ("a", np.int32), ("b", np.int32), ("outcome", np.int8),
    ("anony", np.bool_), ("language", np.int8), ("category", np.int16), ("multi", np.bool_),
    ("bothbad", np.bool_), ("ts", np.float64), ("prompt", np.int32), ("source", np.int16),
    *((reason, np.bool_) for reason in REASONS),
)  # fmt: skip
_REASONS = reason_expressions()
_QUERY = select(  # type: ignore[call-overload]
    Vote.id, Battle.model_a, Battle.model_b, Vote.winner, Battle.anony,
    Battle.language, Battle.category,
    cast(extract("epoch", Vote.created_at), Float),  # no datetime objects per row
    cast(Battle.style, Text), Battle.id,  # parsed in one json.loads per batch, not per row
    Battle.prompt_hash, Battle.source,
    *(_REASONS[reason].label(reason) for reason in REASONS),  # arena.services.counting
).join(Battle, Battle.id == Vote.battle_id)  # fmt: skip


@dataclass(frozen=True)
class Snapshot:
    """Read-only views of the first ``n`` stored votes (``version`` changes when they do)."""

    version: tuple[int, int]
    models: tuple[str, ...]
    categories: tuple[str, ...]
    cols: dict[str, np.ndarray]
    sources: tuple[str, ...]
    style_a: np.ndarray
    style_b: np.ndarray
    last_vote_at: float | None

    @property
    def n(self) -> int:
        return int(self.cols["ids"].shape[0])

    def prompt_counts(self) -> np.ndarray:
        """Votes per live prompt key (index: the ``prompt`` column's code)."""
        codes = self.cols["prompt"]
        return np.bincount(codes[codes >= 0])


def _language_code(value: str | None) -> int:
    if value is None:
        return NO_LANGUAGE
    head = value.lower().split("-")[0]
    return LANGUAGES.index(head) if head in ("en", "zh") else 2


class VoteStore:
    """Growable columns of countable votes; thread-safe ``sync`` and ``snapshot``."""

    def __init__(self, engine: Engine, *, reload_seconds: float = 600.0) -> None:
        self.engine = engine
        self.reload_seconds = reload_seconds
        self._lock = threading.Lock()
        self._reloading = False
        self._generation = 0
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        self._cap = 0
        self._cols: dict[str, np.ndarray] = {name: np.empty(0, dt) for name, dt in _COLUMNS}
        self._style_a = np.empty((0, 4), np.float32)
        self._style_b = np.empty((0, 4), np.float32)
        self._models: list[str] = []
        self._model_index: dict[str, int] = {}
        self._categories: list[str] = []
        self._category_index: dict[str, int] = {}
        self._prompts: list[str] = []  # live battles' prompt keys (arena.text.prompt_key)
        self._prompt_index: dict[str, int] = {}
        self._sources: list[str] = []  # imported datasets' names, judge:NAME
        self._source_index: dict[str, int] = {}
        self._max_id = 0
        self._loaded_at = 0.0
        self._flags_seen: str | None = None
        self._snapshot: Snapshot | None = None

    def sync(self) -> Snapshot:
        """Read votes stored since the last call; return the current snapshot."""
        with self._lock:
            due = self._loaded_at and time.monotonic() - self._loaded_at > self.reload_seconds
            if due and not self._reloading:
                self._reloading = True
                threading.Thread(target=self._reload, name="leaderboard-reload",
                                 daemon=True).start()
            with Session(self.engine) as session:
                flags = flags_changed_at(session)
                if self._loaded_at and flags != self._flags_seen and not self._reloading:
                    self._reloading = True  # flags changed after the votes: re-read them all
                    threading.Thread(target=self._reload, name="leaderboard-reload",
                                     daemon=True).start()
                if not self._loaded_at:
                    self._loaded_at = time.monotonic()
                    self._flags_seen = flags
                    self._read_all(session)
                else:
                    self._read_new(session, max(self._max_id - ID_MARGIN, 0))
            if self._snapshot is None:
                self._snapshot = self._make_snapshot()
            return self._snapshot

    def _reload(self) -> None:
        """Read everything into a fresh store off the lock, then swap it in."""
        try:
            fresh = VoteStore(self.engine, reload_seconds=self.reload_seconds)
            fresh.sync()
        except Exception:
            log.exception("leaderboard reload failed; keeping the incremental store")
            with self._lock:
                self._reloading, self._loaded_at = False, time.monotonic()
            return
        with self._lock:
            generation = self._generation + 1
            state = {k: v for k, v in vars(fresh).items() if k not in ("_lock", "_reloading")}
            vars(self).update(state)
            self._generation, self._snapshot, self._reloading = generation, None, False

    def _read_new(self, session: Session, low: int) -> None:
        """The ids above ``low`` first (cheap), then the rows of the ones not held yet."""
        ids = self._cols["ids"][: self._n]
        held = set(ids[ids > low].tolist())
        while True:  # ORDER BY + LIMIT keeps PostgreSQL on the primary key index
            query = select(Vote.id).where(Vote.id > low).order_by(Vote.id).limit(BATCH)
            recent = session.execute(query).scalars().all()
            unseen = [i for i in recent if i not in held]
            if unseen:
                rows = _QUERY.where(Vote.id.in_(unseen)).order_by(Vote.id)  # type: ignore[attr-defined]
                self._append(session, session.execute(rows).all())
            if len(recent) < BATCH:
                return
            low = recent[-1]

    def _read_all(self, session: Session) -> None:
        """Every vote through a raw (server-side on PostgreSQL) cursor: no per-row ORM work."""
        sql = str(_QUERY.order_by(Vote.id).compile(dialect=self.engine.dialect,
                                                   compile_kwargs={"literal_binds": True}))
        raw = self.engine.raw_connection()
        try:
            named = self.engine.dialect.name == "postgresql"
            cursor = raw.cursor(name="leaderboard_load") if named else raw.cursor()  # type: ignore[call-arg]
            cursor.execute(sql)
            while rows := cursor.fetchmany(BATCH):
                self._append(session, rows)
            cursor.close()
            raw.rollback()
        finally:
            raw.close()

    def _code(self, index: dict[str, int], names: list[str], name: str) -> int:
        code = index.get(name)
        if code is None:
            code = index[name] = len(names)
            names.append(name)
        return code

    def _append(self, session: Session, rows: list[Any]) -> None:
        k = len(rows)
        self._grow(self._n + k)
        (ids, ma, mb, win, anony, lang, cat, created, raw, bid, prompt, source,
         *reasons) = zip(*rows, strict=True)  # fmt: skip
        style = json.loads("[" + ",".join("null" if x is None else x for x in raw) + "]")
        missing = [b for s, b in zip(style, bid, strict=True) if s is None]
        styles = _styles_from_text(session, missing) if missing else {}
        mi = {x: self._code(self._model_index, self._models, x) for x in {*ma, *mb}}
        ci = {x: self._code(self._category_index, self._categories, x) for x in set(cat) - {None}}
        ci[None] = -1
        pi = {x: self._code(self._prompt_index, self._prompts, x) for x in set(prompt) - {None}}
        pi[None] = -1
        si = {x: self._code(self._source_index, self._sources, x) for x in set(source) - {None}}
        si[None] = -1
        li = {x: _language_code(x) for x in set(lang)}
        style = [s if s is not None else styles[b] for s, b in zip(style, bid, strict=True)]
        new = {
            "ids": ids,
            "a": [mi[x] for x in ma],
            "b": [mi[x] for x in mb],
            "outcome": [_OUTCOME[w] for w in win],
            "anony": [bool(x) for x in anony],
            "language": [li[x] for x in lang],
            "category": [ci[x] for x in cat],
            "multi": [int(s.get("turns") or 1) > 1 for s in style],
            "bothbad": [w == "tie (bothbad)" for w in win],
            "ts": [x or 0.0 for x in created],
            "prompt": [pi[x] for x in prompt],
            "source": [si[x] for x in source],
            **{reason: [bool(x) for x in values]
               for reason, values in zip(REASONS, reasons, strict=True)},
        }
        sl = slice(self._n, self._n + k)
        for name, values in new.items():
            self._cols[name][sl] = values
        self._style_a[sl] = [s["a"] for s in style]
        self._style_b[sl] = [s["b"] for s in style]
        self._n += k
        self._max_id = max(self._max_id, max(ids))
        self._snapshot = None

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(need, 2 * self._cap, 1024)
        for name, dtype in _COLUMNS:
            col = np.empty(cap, dtype)
            col[: self._n] = self._cols[name][: self._n]
            self._cols[name] = col
        for attr in ("_style_a", "_style_b"):
            arr = np.empty((cap, 4), np.float32)
            arr[: self._n] = getattr(self, attr)[: self._n]
            setattr(self, attr, arr)
        self._cap = cap

    def _make_snapshot(self) -> Snapshot:
        n = self._n
        cols = {name: self._cols[name][:n] for name, _ in _COLUMNS}
        return Snapshot(
            version=(self._generation, n),
            models=tuple(self._models),
            categories=tuple(self._categories),
            cols=cols,
            sources=tuple(self._sources),
            style_a=self._style_a[:n],
            style_b=self._style_b[:n],
            last_vote_at=float(cols["ts"].max()) if n else None,
        )


def _styles_from_text(session: Session, battle_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Style counts of battles stored before the ``style`` column (computed from text)."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(battle_ids), 500):
        chunk = battle_ids[start : start + 500]
        query = select(Battle.id, Battle.conversation_a, Battle.conversation_b)
        for bid, conv_a, conv_b in session.execute(query.where(Battle.id.in_(chunk))):  # type: ignore[attr-defined]
            out[bid] = battle_style(conv_a, conv_b)
    return out


__all__ = ["LANGUAGES", "Snapshot", "VoteStore"]
