"""Every countable vote as compact numpy columns, loaded once and then kept current.

On first use :class:`VoteStore` reads the stored segments (arena.services.board_segments:
the columns of all but the latest votes, a few blobs), then ``vote JOIN battle`` for
the votes after them, then the flags that can change after a vote (flagged,
suspicious) from partial indexes. Afterwards each poll reads only the votes whose id
is above the last one seen and the flag changes logged since (``flag_change``, written
by arena.services.flags and the audit), re-reading just those votes' flags.  PostgreSQL
hands out ids before commit, so a row can become visible after one with a higher id:
each poll re-reads a margin of ids below the highest seen and drops the ones already
held.  A full reload every ``reload_seconds``, read in a background thread and swapped
in, is a safety net for flags changed behind the services' back.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, Float, Text, bindparam, cast, extract, func, or_, select
from sqlmodel import Session

from arena.db import stream_rows
from arena.models import Battle, FlagChange, Vote, VoterFlag
from arena.services.battle_style import battle_style
from arena.services.board_segments import (
    SEGMENT_VOTES,
    SETTLE_SECONDS,
    STYLE_DTYPE,
    STYLE_K,
    SegmentData,
    chain,
    chain_end,
    chain_votes,
    read_chain,
    store_segment,
)
from arena.services.counting import REASONS, reason_expressions
from arena.services.prompt_book import CountTable, PromptBook, prompt_ids
from ratings.data import DEFAULT_OUTCOME_MAP
from ratings.style import style_features

log = logging.getLogger("arena.leaderboard")
LANGUAGES: tuple[str, ...] = ("en", "zh", "other")
"""Language codes 0..2 of a view; a battle without a language (code 3) counts only overall."""
NO_LANGUAGE = 3
ID_MARGIN = 1000
FLAG_MARGIN = 100
BATCH = 20_000
CHUNK = 1 << 20  # rows per step of a pass over every vote (small temporaries)
MUTABLE = ("flagged", "suspicious")
"""The reasons that can change after a vote (the owner's and the audit's flags)."""
_OUTCOME = {label: int(code) for label, code in DEFAULT_OUTCOME_MAP.items() if code is not None}
FLAGS: tuple[str, ...] = ("anony", "multi", "bothbad", *REASONS)
"""The yes/no columns, stored as the bits of one uint16 column ("bits")."""
_BIT = {name: np.uint16(1 << k) for k, name in enumerate(FLAGS)}
_COLUMNS = (
    ("ids", np.int32), ("a", np.int16), ("b", np.int16), ("outcome", np.int8),
    ("language", np.int8), ("category", np.int16), ("ts", np.float64), ("prompt", np.int32),
    ("source", np.int16), ("bits", np.uint16),
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
_NAMES = tuple(name for name, _ in _COLUMNS)
_CHANGE_COUNTS = select(
    select(func.count(Vote.id)).where(Vote.id > bindparam("votes_low")).scalar_subquery(),
    select(func.count(FlagChange.id)).where(FlagChange.id > bindparam("flags_low"))
    .scalar_subquery(),
)
_CODE_LIMIT = int(np.iinfo(np.int16).max)  # models, categories and sources are int16 codes
_PROMPT_LIMIT = int(np.iinfo(np.int32).max)
# Vote ids are int32, as the vote table's INTEGER key is on PostgreSQL.


class Columns(Mapping[str, np.ndarray]):
    """The store's columns by name; each of :data:`FLAGS` reads as a boolean array,
    unpacked from the "bits" column on access (2 bytes a vote for ten flags, not 10)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    def __getitem__(self, name: str) -> np.ndarray:
        bit = _BIT.get(name)
        if bit is None:
            return self.arrays[name]
        return (self.arrays["bits"] & bit) != 0

    def __iter__(self) -> Iterator[str]:
        return iter([name for name in self.arrays if name != "bits"] + list(FLAGS))

    def __len__(self) -> int:
        return len(self.arrays) - 1 + len(FLAGS)

    def rows(self, rows: slice) -> Columns:
        """The columns of the stored votes *rows* (views, no copy)."""
        return Columns({name: column[rows] for name, column in self.arrays.items()})


def pack_flags(flags: Mapping[str, Any], size: int) -> np.ndarray:
    """The "bits" column of boolean columns named as :data:`FLAGS` (a missing one: no)."""
    bits = np.zeros(size, np.uint16)
    for name, values in flags.items():
        bits[np.asarray(values, dtype=bool)] |= _BIT[name]
    return bits


@dataclass(frozen=True)
class Snapshot:
    """Read-only views of the first ``n`` stored votes (``version`` changes when they do)."""

    version: tuple[int, int]
    models: tuple[str, ...]
    categories: tuple[str, ...]
    cols: Columns
    sources: tuple[str, ...]
    style: np.ndarray  # (n, 4) STYLE_DTYPE style differences (ratings.style_features)
    last_vote_at: float | None
    prompt_table: CountTable  # votes per prompt code, kept by the store
    prompt_hist: np.ndarray  # prompts per vote count (arena.services.prompt_book)

    @property
    def n(self) -> int:
        return int(self.cols["ids"].shape[0])

    def prompt_counts(self) -> CountTable:
        """Votes per live prompt key (index: the ``prompt`` column's code)."""
        return self.prompt_table


def _language_code(value: str | None) -> int:
    if value is None:
        return NO_LANGUAGE
    head = value.lower().split("-")[0]
    return LANGUAGES.index(head) if head in ("en", "zh") else 2


class VoteStore:
    """Growable columns of countable votes; thread-safe ``sync`` and ``snapshot``.

    With a *write_engine*, the store also writes segments for other processes to start
    from (every ``segment_votes`` votes it has held for ``settle_seconds``)."""

    def __init__(self, engine: Engine, *, reload_seconds: float = 3600.0,
                 write_engine: Engine | None = None, segment_votes: int = SEGMENT_VOTES,
                 settle_seconds: float = SETTLE_SECONDS) -> None:
        self.engine = engine
        self.reload_seconds = reload_seconds
        self.write_engine = write_engine
        self.segment_votes = segment_votes
        self.settle_seconds = settle_seconds
        self._lock = threading.Lock()
        self._reloading = False
        self._writing = False
        self._generation = 0
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        self._cap = 0
        self._cols: dict[str, np.ndarray] = {name: np.empty(0, dt) for name, dt in _COLUMNS}
        self._style = np.empty((0, STYLE_K), STYLE_DTYPE)
        self._models: list[str] = []
        self._model_index: dict[str, int] = {}
        self._categories: list[str] = []
        self._category_index: dict[str, int] = {}
        self._prompts = PromptBook(_PROMPT_LIMIT)  # live battles' prompts, votes per prompt
        self._sources: list[str] = []  # imported datasets' names, judge:NAME
        self._source_index: dict[str, int] = {}
        self._max_id = 0
        self._last_ts: float | None = None  # the latest vote time held (no pass per snapshot)
        self._loaded_at = 0.0
        self._snapshot: Snapshot | None = None
        self._segment_end = 0  # the stored segments' last vote id
        self._flag_seen = 0  # the highest flag_change id applied
        self._flag_applied: set[int] = set()
        self._marks: deque[tuple[float, int]] = deque()  # (when, highest vote id held)
        self._ids_sorted = True  # rows in id order (votes committed in order)
        self._order: np.ndarray | None = None  # else: rows by id (int32), for lookups
        self._recent: set[int] = set()  # every held id above max id - 2 * ID_MARGIN
        self._bits_shared = False  # a snapshot handed out holds the "bits" column

    def sync(self) -> Snapshot:
        """Read votes and flag changes stored since the last call; return the snapshot."""
        with self._lock:
            due = self._loaded_at and time.monotonic() - self._loaded_at > self.reload_seconds
            if due and not self._reloading:
                self._reloading = True
                threading.Thread(target=self._reload, name="leaderboard-reload",
                                 daemon=True).start()
            with Session(self.engine) as session:
                if not self._loaded_at:
                    self._loaded_at = time.monotonic()
                    self._load(session)
                else:
                    self._read_changes(session)
            self._maybe_write_segment()
            if self._snapshot is None:
                self._snapshot = self._make_snapshot()
            return self._snapshot

    def _load(self, session: Session) -> None:
        """Segments, the votes after them, then the flags that may have changed since."""
        self._flag_seen = int(session.execute(select(func.max(FlagChange.id))).scalar() or 0)
        found = chain(session)
        stored = chain_votes(session, found)
        end = found[-1][2] if found else 0
        tail = session.execute(select(func.count()).select_from(Vote).where(Vote.id > end)
                               ).scalar_one()
        self._grow(stored + tail + self.segment_votes)  # one allocation, with room to grow
        for segment in read_chain(session, found):
            self._extend(segment)
            self._segment_end = segment.high_id
        session.rollback()
        self._read_range(self._segment_end)
        if self._segment_end:
            self._refresh_all_flags(session)

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
        keep = ("_lock", "_reloading", "_writing", "write_engine", "segment_votes",
                "settle_seconds", "reload_seconds", "_generation")
        with self._lock:
            generation = self._generation + 1
            state = {k: v for k, v in vars(fresh).items() if k not in keep}
            vars(self).update(state)
            self._generation, self._snapshot, self._reloading = generation, None, False

    def _read_changes(self, session: Session) -> None:
        """New votes and flag changes, read only when one round trip's counts say there
        are some: every sync (each GET of the board) used to fetch the last ID_MARGIN vote
        ids and the last FLAG_MARGIN change ids, in two. Votes and changes are never
        deleted, so a count equal to the ids held above the same floor means the same
        ids."""
        votes_low = max(self._max_id - ID_MARGIN, 0)
        flags_low = max(self._flag_seen - FLAG_MARGIN, 0)
        votes, flags = session.execute(_CHANGE_COUNTS, {"votes_low": votes_low,
                                                        "flags_low": flags_low}).one()
        if votes != sum(1 for i in self._recent if i > votes_low):
            self._read_new(session, votes_low)
        if flags != sum(1 for i in self._flag_applied if i > flags_low):
            self._apply_flag_changes(session)

    def _read_new(self, session: Session, low: int) -> None:
        """The ids above ``low`` first (cheap), then the rows of the ones not held yet."""
        held = {i for i in self._recent if i > low}
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

    def _read_range(self, low: int, high: int | None = None) -> None:
        """The votes with ids in (low, high] through a raw (server-side on PostgreSQL)
        cursor: no per-row ORM work."""
        query = _QUERY.where(Vote.id > low)
        if high is not None:
            query = query.where(Vote.id <= high)
        with Session(self.engine) as session:  # style from text, for old battles
            for rows in stream_rows(self.engine, query.order_by(Vote.id), BATCH):
                self._append(session, rows)

    # Flags changed after the vote ------------------------------------------------

    def _apply_flag_changes(self, session: Session) -> None:
        low = max(self._flag_seen - FLAG_MARGIN, 0)
        ids = session.execute(select(FlagChange.id).where(FlagChange.id > low)).scalars().all()
        new = sorted(set(ids) - self._flag_applied)
        if not new:
            return
        changes = session.execute(select(FlagChange.battle_id, FlagChange.voter_id)
                                  .where(FlagChange.id.in_(new))).all()  # type: ignore[union-attr]
        battles = {b for b, v in changes if b is not None}
        voters = {v for b, v in changes if v is not None}
        if any(b is None and v is None for b, v in changes):
            self._refresh_all_flags(session)
        elif battles or voters:
            query = select(Vote.id, _REASONS["flagged"], _REASONS["suspicious"]).join(
                Battle, Battle.id == Vote.battle_id).where(
                or_(Battle.id.in_(sorted(battles)), Battle.voter_id.in_(sorted(voters))))  # type: ignore[attr-defined]
            rows = session.execute(query).all()
            if rows:
                vote_ids, flagged, suspicious = zip(*rows, strict=True)
                at = self._rows_of(np.asarray(vote_ids, dtype=np.int32))
                found = np.isin(np.asarray(vote_ids, dtype=np.int32), self._cols["ids"][at])
                self._set_flags(at, np.asarray(flagged, dtype=bool)[found],
                                np.asarray(suspicious, dtype=bool)[found])
        self._flag_applied.update(new)
        self._flag_seen = max(self._flag_seen, new[-1])
        floor = self._flag_seen - FLAG_MARGIN
        self._flag_applied = {i for i in self._flag_applied if i > floor}

    def _refresh_all_flags(self, session: Session) -> None:
        """Both mutable reasons of every held vote, from the few votes that have them
        (partial indexes: no pass over every vote) and the rows that hold either now:
        its memory is that of the marked votes, not a column of every vote."""
        flagged = select(Vote.id).join(Battle, Battle.id == Vote.battle_id).where(
            or_(Battle.flagged, Battle.identity_leak))
        suspicious = select(Vote.id).where(Vote.suspicious)
        voter = select(Vote.id).join(Battle, Battle.id == Vote.battle_id).join(
            VoterFlag, VoterFlag.voter_id == Battle.voter_id).where(VoterFlag.flagged)
        marked = {}
        for name, queries in (("flagged", (flagged,)), ("suspicious", (suspicious, voter))):
            ids = {i for q in queries for i in session.execute(q).scalars()}
            marked[name] = np.unique(self._rows_of(np.fromiter(ids, np.int32, len(ids))))
        mutable = _BIT["flagged"] | _BIT["suspicious"]
        bits = self._cols["bits"]
        held = [lo + np.flatnonzero(bits[lo : min(lo + CHUNK, self._n)] & mutable)
                for lo in range(0, self._n, CHUNK)]
        rows = np.union1d(np.concatenate([np.empty(0, np.int64), *held]),
                          np.union1d(marked["flagged"], marked["suspicious"]))
        self._set_flags(rows, np.isin(rows, marked["flagged"]),
                        np.isin(rows, marked["suspicious"]))

    def _set_flags(self, rows: np.ndarray, flagged: np.ndarray, suspicious: np.ndarray) -> None:
        """Set both mutable reasons at *rows*; copies the column first when a snapshot
        shares it, and changes the version only when a value changed."""
        old = self._cols["bits"][rows]
        mutable = _BIT["flagged"] | _BIT["suspicious"]
        new = (old & ~mutable) | pack_flags({"flagged": flagged, "suspicious": suspicious},
                                            old.shape[0])
        if np.array_equal(old, new):
            return
        if self._bits_shared:
            self._cols["bits"] = self._cols["bits"].copy()
            self._bits_shared = False
        self._cols["bits"][rows] = new
        self._generation += 1
        self._snapshot = None

    def _rows_of(self, vote_ids: np.ndarray) -> np.ndarray:
        """The store rows of the held votes among *vote_ids*: a binary search over the ids
        when they are in order, else through an index of the rows by id (int32, kept
        until votes arrive: 4 bytes a vote, only once a vote came out of order)."""
        if vote_ids.size == 0 or self._n == 0:
            return np.empty(0, dtype=np.int64)
        ids = self._cols["ids"][: self._n]
        order = None
        if not self._ids_sorted:
            if self._order is None or self._order.shape[0] != self._n:
                self._order = np.argsort(ids, kind="stable").astype(np.int32)
            order = self._order
        pos = np.minimum(np.searchsorted(ids, vote_ids, sorter=order), self._n - 1)
        rows = pos if order is None else order[pos].astype(np.int64)
        return rows[ids[rows] == vote_ids]

    # Segments --------------------------------------------------------------------

    def _maybe_write_segment(self) -> None:
        """Start writing a segment when enough settled votes follow the last one."""
        if self.write_engine is None or self._writing:
            return
        now = time.monotonic()
        self._marks.append((now, self._max_id))
        while len(self._marks) > 1 and self._marks[1][0] <= now - self.settle_seconds:
            self._marks.popleft()
        when, settled = self._marks[0]
        if when > now - self.settle_seconds or settled - self._segment_end < self.segment_votes:
            return
        ids = self._cols["ids"][: self._n]
        if self._ids_sorted:  # no copy of the ids
            first = int(np.searchsorted(ids, self._segment_end, side="right"))
            if int(np.searchsorted(ids, settled, side="right")) - first < self.segment_votes:
                return
            high = int(ids[first + self.segment_votes - 1])
        else:
            eligible = ids[(ids > self._segment_end) & (ids <= settled)]
            if eligible.size < self.segment_votes:
                return
            high = int(np.partition(eligible, self.segment_votes - 1)[self.segment_votes - 1])
        self._writing = True
        segment = self.segment(self._segment_end, high)  # under the lock: a consistent copy
        threading.Thread(target=self._write_segment, args=(segment,),
                         name="leaderboard-segment", daemon=True).start()

    def _write_segment(self, segment: SegmentData) -> None:
        """Store *segment* if it still continues the chain and holds every vote of its id
        range in the database (else a later poll tries again)."""
        assert self.write_engine is not None
        end = segment.low_id
        try:
            with Session(self.engine) as session:
                end = chain_end(session)
                in_range = session.execute(select(func.count()).select_from(Vote).where(
                    Vote.id > segment.low_id, Vote.id <= segment.high_id)).scalar_one()
            if end == segment.low_id and in_range == segment.votes:
                store_segment(self.write_engine, segment)
                end = segment.high_id
        except Exception:  # noqa: BLE001 (the next poll tries again)
            log.exception("leaderboard: storing a segment failed")
        finally:
            with self._lock:
                self._segment_end = max(self._segment_end, end)
                self._writing = False

    def segment(self, low: int, high: int) -> SegmentData:
        """The held votes with ids in (low, high] as a segment, in id order, with code
        books of only the names they use."""
        ids = self._cols["ids"][: self._n]
        if self._ids_sorted:  # no pass over every held id (three 10 MB masks at 10 M)
            rows = np.arange(np.searchsorted(ids, low, side="right"),
                             np.searchsorted(ids, high, side="right"))
        else:  # a chunk at a time, then in id order
            parts = [np.empty(0, np.int64)]
            for lo in range(0, ids.size, CHUNK):
                part = ids[lo : lo + CHUNK]
                parts.append(lo + np.flatnonzero((part > low) & (part <= high)))
            rows = np.concatenate(parts)
            rows = rows[np.argsort(ids[rows], kind="stable")]
        cols = {name: self._cols[name][rows] for name in _NAMES}
        books: dict[str, list[str]] = {}
        used = np.unique(np.concatenate([cols["a"], cols["b"]]))
        cols["a"], cols["b"] = (np.searchsorted(used, cols[s]).astype(np.int16)
                                for s in ("a", "b"))
        books["models"] = [self._models[k] for k in used]
        used_by: dict[str, np.ndarray] = {}
        for column in ("category", "prompt", "source"):
            codes = cols[column]
            used = used_by[column] = np.unique(codes[codes >= 0])
            local = np.where(codes >= 0, np.searchsorted(used, codes), -1)
            cols[column] = local.astype(codes.dtype)
        books["categories"] = [self._categories[k] for k in used_by["category"]]
        books["sources"] = [self._sources[k] for k in used_by["source"]]
        return SegmentData(low, high, cols, self._style[rows], books,
                           self._prompts.ids_of(used_by["prompt"]))

    def _extend(self, segment: SegmentData) -> None:
        """Append a segment's columns, its codes mapped onto this store's (vectorised)."""
        k = segment.votes
        if k == 0:
            return
        self._grow(self._n + k)
        books = segment.books

        def table(index: dict[str, int], names: list[str], book: str) -> np.ndarray:
            return np.array([self._code(index, names, x) for x in books[book]] or [0],
                            dtype=np.int64)

        def mapped(codes: np.ndarray, lookup: np.ndarray) -> np.ndarray:
            out = np.full(codes.shape, -1, dtype=np.int64)
            known = codes >= 0
            out[known] = lookup[codes[known]]
            return out

        models = table(self._model_index, self._models, "models")
        cols = dict(segment.cols)
        if "bits" not in cols:  # written before 2026-12-01: one boolean column per flag
            cols["bits"] = pack_flags({name: cols.pop(name) for name in FLAGS if name in cols}, k)
        cols["a"], cols["b"] = models[cols["a"]], models[cols["b"]]
        cols["category"] = mapped(cols["category"], table(
            self._category_index, self._categories, "categories"))
        cols["prompt"] = mapped(cols["prompt"], self._prompts.codes(segment.prompts))
        cols["source"] = mapped(cols["source"], table(self._source_index, self._sources,
                                                      "sources"))
        sl = slice(self._n, self._n + k)
        for name in _NAMES:
            self._cols[name][sl] = cols[name]
        self._style[sl] = segment.style
        self._prompts.count(cols["prompt"])
        self._note_times(self._cols["ts"][sl])
        self._n += k
        self._held(cols["ids"])
        self._snapshot = None

    def _held(self, ids: np.ndarray) -> None:
        """Raise the highest id and keep the ids near it for the next poll's re-read,
        without a pass over every held id."""
        if self._ids_sorted and (int(ids[0]) <= self._max_id or bool(np.any(ids[1:] <= ids[:-1]))):
            self._ids_sorted = False
        self._max_id = max(self._max_id, int(ids.max()))
        floor = self._max_id - 2 * ID_MARGIN
        self._recent.update(ids[ids > floor].tolist())
        if len(self._recent) > 4 * ID_MARGIN:
            self._recent = {i for i in self._recent if i > floor}

    def _note_times(self, ts: np.ndarray) -> None:
        if not ts.size:
            return
        latest = float(ts.max())
        self._last_ts = latest if self._last_ts is None else max(self._last_ts, latest)

    def _code(self, index: dict[str, int], names: list[str], name: str) -> int:
        code = index.get(name)
        if code is None:
            if len(names) >= _CODE_LIMIT:
                raise ValueError(f"the leaderboard holds at most {_CODE_LIMIT} distinct names of "
                                 f"a kind (models, categories, sources); {name!r} is one more")
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
        distinct = sorted(set(prompt) - {None})
        pi = dict(zip(distinct, self._prompts.codes(prompt_ids(distinct)).tolist(), strict=True))
        pi[None] = -1
        si = {x: self._code(self._source_index, self._sources, x) for x in set(source) - {None}}
        si[None] = -1
        li = {x: _language_code(x) for x in set(lang)}
        style = [s if s is not None else styles[b] for s, b in zip(style, bid, strict=True)]
        flags = {
            "anony": [bool(x) for x in anony],
            "multi": [int(s.get("turns") or 1) > 1 for s in style],
            "bothbad": [w == "tie (bothbad)" for w in win],
            **{reason: [bool(x) for x in values]
               for reason, values in zip(REASONS, reasons, strict=True)},
        }
        new = {
            "ids": ids,
            "a": [mi[x] for x in ma],
            "b": [mi[x] for x in mb],
            "outcome": [_OUTCOME[w] for w in win],
            "language": [li[x] for x in lang],
            "category": [ci[x] for x in cat],
            "ts": [x or 0.0 for x in created],
            "prompt": [pi[x] for x in prompt],
            "source": [si[x] for x in source],
            "bits": pack_flags(flags, k),
        }
        sl = slice(self._n, self._n + k)
        for name, values in new.items():
            self._cols[name][sl] = values
        self._style[sl] = style_features([s["a"] for s in style], [s["b"] for s in style])
        self._prompts.count(self._cols["prompt"][sl])
        self._note_times(self._cols["ts"][sl])
        self._n += k
        self._held(self._cols["ids"][sl])
        self._snapshot = None

    def _grow(self, need: int) -> None:
        """Room for *need* votes: an eighth more than now (at least 2^20), one column at a
        time, so that at ten million votes growing holds one column twice, not all."""
        if need <= self._cap:
            return
        cap = max(need, self._cap + max(self._cap // 8, 1 << 20))
        self._snapshot = None  # its views would keep every old column alive
        for name, dtype in _COLUMNS:
            col = np.empty(cap, dtype)
            col[: self._n] = self._cols[name][: self._n]
            self._cols[name] = col
        style = np.empty((cap, STYLE_K), STYLE_DTYPE)
        style[: self._n] = self._style[: self._n]
        self._style = style
        self._cap = cap
        self._bits_shared = False

    def _make_snapshot(self) -> Snapshot:
        n = self._n
        cols = Columns({name: self._cols[name][:n] for name, _ in _COLUMNS})
        snapshot = Snapshot(
            version=(self._generation, n),
            models=tuple(self._models),
            categories=tuple(self._categories),
            cols=cols,
            sources=tuple(self._sources),
            style=self._style[:n],
            last_vote_at=self._last_ts,
            prompt_table=self._prompts.table(),
            prompt_hist=self._prompts.histogram(),
        )
        self._bits_shared = True
        return snapshot


def _styles_from_text(session: Session, battle_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Style counts of battles stored before the ``style`` column (computed from text)."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(battle_ids), 500):
        chunk = battle_ids[start : start + 500]
        query = select(Battle.id, Battle.conversation_a, Battle.conversation_b)
        for bid, conv_a, conv_b in session.execute(query.where(Battle.id.in_(chunk))):  # type: ignore[attr-defined]
            out[bid] = battle_style(conv_a, conv_b)
    return out


__all__ = ["FLAGS", "LANGUAGES", "Columns", "Snapshot", "VoteStore", "pack_flags"]
