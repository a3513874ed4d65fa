"""The live leaderboard: views over the vote store, fitted by ``ratings`` and cached.

A view (category, language, turns, style control, anonymous only, flagged and
imported votes in or out) is a boolean mask over :class:`VoteStore` columns.
Its fit is cached until the store's version changes, so a request between
votes costs one indexed "votes above id N" query; the first request after a
vote refits the view on the in-memory arrays (sandwich intervals, ~0.1 s at
a million votes), never from database rows.  While one request refits, others
get the previous board rather than queueing behind the fit.
"""

from __future__ import annotations

import logging
import math
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from sqlalchemy import Engine, select
from sqlmodel import Session

from arena.models import ArenaModel
from arena.services.board_segments import SETTLE_SECONDS
from arena.services.board_tally import PairTally, pair_counts, tally
from arena.services.counting import CountRules
from arena.services.leaderboard_store import LANGUAGES, Snapshot, VoteStore
from arena.services.prompt_book import count_percentile
from ratings import (
    SKLEARN_C1_L2,
    BattleChunks,
    Battles,
    Leaderboard,
    ModelRating,
    PairCounts,
    RatingsError,
    RatingsWarning,
    compute_leaderboard,
    leaderboard_from_pairs,
)
from ratings.style import STYLE_FEATURES

log = logging.getLogger("arena.leaderboard")
FIT_OPTIONS: dict[str, Any] = {"ci": "sandwich", "ties": "half", "l2": SKLEARN_C1_L2}
"""Live fits: FastChat's ``C=1`` prior keeps a board with a handful of votes finite."""
STYLE_FIT_OPTIONS: dict[str, Any] = dict(FIT_OPTIONS)
"""Style control with the same prior on the ratings (its sandwich keeps the prior in the
bread, so the intervals stay finite with a handful of votes, as the plain board's)."""
Turns = Literal["single", "multi"]
CONTROLS: tuple[str, ...] = ("category", "language", "turns")
"""Battle attributes a board may control for (group covariates in the contextual fit)."""


@dataclass(frozen=True)
class View:
    """Which votes a board counts; the defaults are the public leaderboard."""

    category: str | None = None
    language: str | None = None
    turns: Turns | None = None
    style_control: bool = False
    anony_only: bool = True
    include_flagged: bool = False
    include_imported: bool = True
    include_too_fast: bool = False
    include_suspicious: bool = False
    include_seen_named: bool = False
    include_copilot: bool = True
    dedup_prompts: bool = True
    judge: str | None = None  # a judge's board (its votes only) instead of people's
    controls: tuple[str, ...] = ()  # of CONTROLS: one-hot group covariates, as OpenCompass

    @property
    def contextual(self) -> bool:
        """Fitted with per-battle covariates (style and/or group controls)."""
        return self.style_control or bool(self.controls)

    @property
    def rules(self) -> CountRules:
        return CountRules.of(self)

    def __post_init__(self) -> None:
        if self.language is not None and self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        if self.turns is not None and self.turns not in ("single", "multi"):
            raise ValueError("turns must be 'single' or 'multi'")
        unknown = [c for c in self.controls if c not in CONTROLS]
        if unknown or len(set(self.controls)) != len(self.controls):
            raise ValueError(f"controls must be distinct, of {', '.join(CONTROLS)}")


@dataclass(frozen=True)
class BoardRow(ModelRating):
    """A rating row with what the owner configured about the model."""

    organization: str | None
    license: str | None


@dataclass(frozen=True)
class Board:
    """One view's leaderboard: rows above the vote minimum plus what the plots need."""

    view: View
    rows: tuple[BoardRow, ...]
    hidden: int
    total_votes: int
    last_vote_at: float | None
    version: tuple[int, int]
    fit: Leaderboard | None = None
    pairs: PairCounts | None = None
    models: tuple[str, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = field(default=())


def view_mask(snap: Snapshot, view: View, rows: slice | None = None) -> np.ndarray:
    """Which stored votes ``view`` counts (of *rows*, default all: built a chunk at a
    time, as each flag unpacked and each rule makes a temporary as long as its rows)."""
    if rows is None:
        mask = np.empty(snap.n, dtype=bool)
        for chunk in _chunks(snap.n):
            mask[chunk] = view_mask(snap, view, chunk)
        return mask
    c = snap.cols.rows(rows)
    if view.judge is not None:  # the judge's verdicts, as counted votes of their own
        source = f"judge:{view.judge}"
        code = snap.sources.index(source) if source in snap.sources else -2
        mask = c["judge"] & (c["source"] == code) & ~c["flagged"]
    else:
        mask = view.rules.mask(c)
    if view.language is not None:
        mask &= c["language"] == LANGUAGES.index(view.language)
    if view.category is not None:
        code = snap.categories.index(view.category) if view.category in snap.categories else -2
        mask &= c["category"] == code
    if view.turns is not None:
        mask &= c["multi"] if view.turns == "multi" else ~c["multi"]
    return mask


ELO_SCALE = 400.0  # the live fits' scale, base 10
MAX_TALLIES = 64  # views whose pair counts are kept (each m x m x 3)
MIN_DEDUP_THRESHOLD = 50
DEDUP_PERCENTILE = 99.9


def dedup_limit(snap: Snapshot, threshold: int = 0) -> float | None:
    """The vote count above which a prompt's votes weigh less (:func:`dedup_weights`), or
    ``None`` when no prompt is over it. Read off the histogram of the counts (a pass
    over every prompt's count on each refit took a fifth of a vote -> board at ten
    million votes)."""
    hist = snap.prompt_hist
    if hist.size - 1 <= (threshold or MIN_DEDUP_THRESHOLD):  # the highest count
        return None
    return float(threshold or max(MIN_DEDUP_THRESHOLD,
                                  count_percentile(hist, DEDUP_PERCENTILE)))


def dedup_weights(snap: Snapshot, mask: np.ndarray, limit: float | None,
                  rows: slice = slice(None)) -> np.ndarray | None:
    """Weights that count a live prompt repeated more than *limit* times (:func:`dedup_limit`,
    found once per fit) as if it had been asked *limit* times: each of its ``count`` votes
    weighs ``limit / count`` (counts over every stored vote). FastChat's deduplication
    marks prompts above the 99.9th percentile and keeps a sample of them; weighting keeps
    every vote and is deterministic. ``None`` when no prompt is over (unweighted). *mask*
    selects among the stored votes *rows*."""
    if limit is None:
        return None
    counts = snap.prompt_counts()
    codes = snap.cols["prompt"][rows][mask]
    per_vote = np.where(codes >= 0, counts[np.maximum(codes, 0)], 0)
    if not (per_vote > limit).any():
        return None
    return np.where(per_vote > limit, limit / np.maximum(per_vote, 1), 1.0)


CHUNK_VOTES = 1 << 18
"""Stored votes per chunk of a contextual board's fit (arena.services.leaderboard.
view_chunks): its per-battle temporaries are this long, whatever the store holds."""


@dataclass(frozen=True)
class _ViewColumns:
    """What every chunk of a view shares: its models and its group levels."""

    models: tuple[str, ...]
    remap: np.ndarray  # store model code -> index in models
    groups: tuple[tuple[str, np.ndarray], ...]  # (control, level codes kept)
    names: tuple[str, ...]
    indicators: int
    dedup_limit: float | None  # prompts repeated more often weigh less (dedup views)


def _group_codes(snap: Snapshot, control: str, rows: slice) -> tuple[np.ndarray, list[str]]:
    c = snap.cols
    if control == "category":
        return c["category"][rows].astype(np.int64) + 1, ["-", *snap.categories]
    if control == "language":
        return c["language"][rows].astype(np.int64), [*LANGUAGES, "-"]
    return c["multi"][rows].astype(np.int64), ["single", "multi"]


def _chunks(n: int) -> list[slice]:
    return [slice(lo, lo + CHUNK_VOTES) for lo in range(0, n, CHUNK_VOTES)]


def _view_columns(snap: Snapshot, view: View, mask: np.ndarray,
                  dedup_threshold: int) -> _ViewColumns | None:
    """The view's models and, per control, the levels it keeps: every level present for
    the first control; later ones drop their most common level, named in each column,
    as every control's columns sum to one per battle and would otherwise be collinear."""
    m = len(snap.models)
    seen = np.zeros(m, dtype=np.int64)
    level_counts = {control: np.zeros(0, np.int64) for control in view.controls}
    labels: dict[str, list[str]] = {}
    for sl in _chunks(snap.n):
        keep = mask[sl]
        seen += np.bincount(snap.cols["a"][sl][keep], minlength=m)
        seen += np.bincount(snap.cols["b"][sl][keep], minlength=m)
        for control in view.controls:
            codes, labels[control] = _group_codes(snap, control, sl)
            counts = np.bincount(codes[keep], minlength=len(labels[control]))
            total = level_counts[control]
            level_counts[control] = counts + np.pad(total, (0, counts.size - total.size))
    if not seen.any():
        return None
    present = seen > 0
    remap = np.cumsum(present, dtype=np.int32) - 1
    models = tuple(name for name, p in zip(snap.models, present, strict=True) if p)
    names: tuple[str, ...] = STYLE_FEATURES if view.style_control else ()
    groups = []
    for k, control in enumerate(view.controls):
        counts = level_counts[control]
        levels = np.flatnonzero(counts)
        level_names = [f"{control}={labels[control][int(v)]}" for v in levels]
        if k > 0 and levels.size >= 2:
            ref = int(np.argmax(counts[levels]))
            level_names = [f"{name} (vs {level_names[ref]})"
                           for i, name in enumerate(level_names) if i != ref]
            levels = np.delete(levels, ref)
        elif k > 0:
            levels, level_names = levels[:0], []
        groups.append((control, levels))
        names += tuple(level_names)
    indicators = sum(levels.size for _, levels in groups)
    limit = dedup_limit(snap, dedup_threshold) if view.dedup_prompts else None
    return _ViewColumns(models, remap, tuple(groups), names, indicators, limit)


def _view_chunk(snap: Snapshot, view: View, mask: np.ndarray, cols: _ViewColumns,
                rows: slice) -> Battles | None:
    """The view's votes among the stored *rows* as :class:`Battles`."""
    keep = mask[rows]
    a = snap.cols["a"][rows][keep]
    if a.shape[0] == 0:
        return None
    columns: list[np.ndarray] = []
    if view.style_control:
        columns.append(snap.style[rows][keep].astype(np.float64))
    for control, levels in cols.groups:
        codes = _group_codes(snap, control, rows)[0][keep]
        columns.append((codes[:, None] == levels[None, :]).astype(np.float64))
    weights = dedup_weights(snap, keep, cols.dedup_limit, rows)
    return Battles(
        cols.models, cols.remap[a], cols.remap[snap.cols["b"][rows][keep]],
        snap.cols["outcome"][rows][keep], weights,
        np.hstack(columns) if columns else None, cols.names,
        indicator_features=cols.indicators,
    )  # fmt: skip


def view_battles(snap: Snapshot, view: View, mask: np.ndarray | None = None,
                 dedup_threshold: int = 0) -> Battles | None:
    """The view's votes as ratings :class:`Battles` over the models that played in it."""
    mask = view_mask(snap, view) if mask is None else mask
    cols = _view_columns(snap, view, mask, dedup_threshold)
    if cols is None:
        return None
    return _view_chunk(snap, view, mask, cols, slice(0, snap.n))


def view_chunks(snap: Snapshot, view: View, mask: np.ndarray | None = None,
                dedup_threshold: int = 0) -> BattleChunks | None:
    """:func:`view_battles` read :data:`CHUNK_VOTES` stored votes at a time: a contextual
    fit over ten million votes then needs the memory of one chunk, not a copy of every
    counted vote's columns."""
    mask = view_mask(snap, view) if mask is None else mask
    cols = _view_columns(snap, view, mask, dedup_threshold)
    if cols is None:
        return None

    def chunks() -> Iterator[Battles]:
        for rows in _chunks(snap.n):
            chunk = _view_chunk(snap, view, mask, cols, rows)
            if chunk is not None:
                yield chunk

    return BattleChunks(cols.models, chunks, cols.names, cols.indicators)


def fit_view(battles: Battles | BattleChunks, view: View, **options: Any) -> Leaderboard:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        base = STYLE_FIT_OPTIONS if view.contextual else FIT_OPTIONS
        return compute_leaderboard(battles, style_control=view.contextual,
                                   **{**base, **options})


def board_coefficients(board: Board) -> list[dict[str, Any]]:
    """The contextual fit's coefficients: ``kind`` style (per standard deviation of the
    answers' difference) or group (a battle attribute's level: the odds that the answer
    shown first wins in that group beyond both ratings), each as a logit with its
    interval and as an odds ratio, as OpenCompass reports them."""
    fit = board.fit
    if fit is None:
        return []
    found = []
    for name, coef in fit.style_coefficients.items():
        lower, upper = fit.style_lower[name], fit.style_upper[name]
        found.append({
            "name": name, "kind": "group" if "=" in name else "style",
            "coefficient": coef, "lower": lower, "upper": upper,
            "odds_ratio": _exp(coef), "odds_ratio_lower": _exp(lower),
            "odds_ratio_upper": _exp(upper),
        })
    return found


def win_rates_vs(board: Board, baseline: str) -> dict[str, float]:
    """Each model's predicted chance of being preferred to *baseline* (Bradley-Terry on
    the Elo scale: ``1 / (1 + 10^((r_baseline - r) / 400))``), as OpenCompass reports
    against a base model. KeyError: the baseline is not on the board."""
    ratings = {row.model: row.rating for row in board.rows}
    base = ratings[baseline]
    return {model: 1.0 / (1.0 + 10.0 ** ((base - rating) / ELO_SCALE))
            for model, rating in ratings.items()}


def _exp(value: float) -> float:
    return math.exp(min(value, 700.0))


class LeaderboardCache:
    """Per-process boards, one per view, refitted only when votes arrive."""

    def __init__(self, engine: Engine, *, min_votes: int = 0, reload_seconds: float = 3600.0,
                 dedup_threshold: int = 0, write_engine: Engine | None = None,
                 settle_seconds: float = SETTLE_SECONDS):
        self.store = VoteStore(engine, reload_seconds=reload_seconds, write_engine=write_engine,
                               settle_seconds=settle_seconds)
        self.engine = engine
        self.min_votes = min_votes
        self.dedup_threshold = dedup_threshold
        self._boards: dict[View, Board] = {}
        self._tallies: dict[View, PairTally] = {}
        self._extras: dict[tuple[str, View], tuple[tuple[int, int], Any]] = {}
        self._fit_lock = threading.Lock()
        self._warm_lock = threading.Lock()
        self._warming = False

    def board(self, view: View | None = None) -> Board:
        """The current board of ``view`` (default: the public leaderboard)."""
        view = view or View()
        snap = self.store.sync()
        cached = self._boards.get(view)
        if cached is not None and cached.version == snap.version:
            return cached
        if cached is not None and not self._fit_lock.acquire(blocking=False):
            return cached  # another request is refitting: answer now, fresh on the next one
        if cached is None:
            self._fit_lock.acquire()
        try:
            cached = self._boards.get(view)
            if cached is not None and cached.version == snap.version:
                return cached
            board = self._build(snap, view)
            self._boards[view] = board
            return board
        finally:
            self._fit_lock.release()

    def board_if_loaded(self, view: View | None = None) -> Board | None:
        """The current board of ``view`` once this process has loaded the votes; before,
        ``None`` at once, with the first load started in the background (a big arena's
        first load takes seconds, which a battle draw must not wait for)."""
        view = view or View()
        if view in self._boards:
            return self.board(view)
        with self._warm_lock:
            if not self._warming:
                self._warming = True
                threading.Thread(target=self._warm, args=(view,), name="leaderboard-warm",
                                 daemon=True).start()
        return None

    def _warm(self, view: View) -> None:
        try:
            self.board(view)
        except Exception:  # noqa: BLE001 (the next request tries again and reports it)
            log.exception("leaderboard: first load failed")
        finally:
            with self._warm_lock:
                self._warming = False

    def extra(self, name: str, view: View, make: Any) -> Any:
        """Cache ``make(snapshot, board)`` for ``view`` until votes arrive (plots, history)."""
        board = self.board(view)
        hit = self._extras.get((name, view))
        if hit is not None and hit[0] == board.version:
            return hit[1]
        value = make(self.store.sync(), board)
        self._extras[(name, view)] = (board.version, value)
        return value

    def categories(self) -> tuple[str, ...]:
        return tuple(sorted(self.store.sync().categories))

    def _build(self, snap: Snapshot, view: View) -> Board:
        empty = Board(view, (), 0, 0, snap.last_vote_at, snap.version)
        votes = 0
        try:
            if view.contextual:  # per-battle covariates: a fit over the view's rows
                battles = view_chunks(snap, view, dedup_threshold=self.dedup_threshold)
                if battles is None:
                    return empty
                pairs, models = battles.aggregate(), battles.models
                votes = pairs.n_battles
                fit = fit_view(battles, view)
            else:  # the view's pair counts, kept as votes arrive (arena.services.board_tally)
                counted = self._tallied(snap, view)
                if counted is None:
                    return empty
                pairs, models, votes = counted
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RatingsWarning)
                    fit = leaderboard_from_pairs(pairs, models, n_battles=votes, **FIT_OPTIONS)
        except (RatingsError, ValueError, np.linalg.LinAlgError) as exc:
            return replace(empty, total_votes=votes, error=str(exc))
        meta = self._model_meta()
        rows = [
            BoardRow(**r.as_dict(), organization=meta.get(r.model, (None, None))[0],
                     license=meta.get(r.model, (None, None))[1])
            for r in fit.rows
        ]
        shown = tuple(r for r in rows if r.votes >= self.min_votes)
        return Board(
            view, shown, len(rows) - len(shown), votes, snap.last_vote_at,
            snap.version, fit=fit, pairs=pairs, models=models, notes=fit.warnings,
        )  # fmt: skip

    def _tallied(self, snap: Snapshot, view: View
                 ) -> tuple[PairCounts, tuple[str, ...], int] | None:
        """The view's pair counts brought up to *snap* (arena.services.board_tally)."""
        limit = dedup_limit(snap, self.dedup_threshold) if view.dedup_prompts else None
        over = (frozenset(snap.prompt_counts().above(limit).tolist())
                if limit is not None else frozenset())
        kept = tally(snap, lambda rows: view_mask(snap, view, rows),
                     self._tallies.pop(view, None), over)
        self._tallies[view] = kept  # most recent last; a query cannot grow them unbounded
        while len(self._tallies) > MAX_TALLIES:
            del self._tallies[next(iter(self._tallies))]
        return pair_counts(snap, kept, limit)

    def _model_meta(self) -> dict[str, tuple[str | None, str | None]]:
        with Session(self.engine) as session:
            rows = session.execute(
                select(ArenaModel.name, ArenaModel.organization, ArenaModel.license)
            )
            return {name: (org, lic) for name, org, lic in rows}


__all__ = [
    "CONTROLS",
    "FIT_OPTIONS",
    "STYLE_FIT_OPTIONS",
    "Board",
    "board_coefficients",
    "win_rates_vs",
    "dedup_weights",
    "BoardRow",
    "LeaderboardCache",
    "View",
    "fit_view",
    "view_battles",
    "view_chunks",
    "view_mask",
]
