"""Rating over time: the view refitted on the votes stored up to ~10 cut points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arena.services.leaderboard import Board, fit_view, view_chunks, view_mask
from arena.services.leaderboard_store import Snapshot
from ratings import RatingsError


@dataclass(frozen=True)
class History:
    """``ratings[model]`` has one value (or None) per ``times`` entry (epoch seconds)."""

    times: tuple[float, ...]
    ratings: dict[str, tuple[float | None, ...]]


def rating_history(snap: Snapshot, board: Board, *, points: int = 10, top: int = 8,
                   dedup_threshold: int = 0) -> History:
    """Ratings of the board's ``top`` models refitted on the votes up to each cut time."""
    mask = view_mask(snap, board.view)
    ts = snap.cols["ts"][mask]
    models = [r.model for r in board.rows[:top]]
    if ts.size == 0 or not models:
        return History((), {})
    cuts = np.unique(np.quantile(ts, np.linspace(0.0, 1.0, points + 1)[1:]))
    series: dict[str, list[float | None]] = {m: [] for m in models}
    where = np.flatnonzero(mask)
    for cut in cuts:
        sub = np.zeros_like(mask)
        sub[where[ts <= cut]] = True
        battles = view_chunks(snap, board.view, sub, dedup_threshold)  # no copy per cut
        try:
            fit = fit_view(battles, board.view) if battles is not None else None
        except (RatingsError, ValueError, np.linalg.LinAlgError):
            fit = None
        rated = {r.model: r.rating for r in fit.rows} if fit is not None else {}
        for m in models:
            series[m].append(rated.get(m))
    return History(tuple(float(c) for c in cuts), {m: tuple(v) for m, v in series.items()})


__all__ = ["History", "rating_history"]
