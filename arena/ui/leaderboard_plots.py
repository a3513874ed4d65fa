"""Plotly figures of a leaderboard view: intervals, pairwise heatmaps, rating over time."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import plotly.graph_objects as go

from arena.services.leaderboard import Board
from arena.services.leaderboard_history import History
from ratings import battle_count_matrix, predicted_win_matrix, win_fraction_matrix

HEATMAP_MODELS = 20
"""Heatmaps show the top models only: beyond ~20 rows the cells are unreadable."""


def _empty(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, annotations=[{
        "text": "no votes in this view yet", "showarrow": False, "x": 0.5, "y": 0.5,
        "xref": "paper", "yref": "paper"}])  # fmt: skip
    return fig


def ratings_figure(board: Board) -> go.Figure:
    """Each shown model's rating with its interval, best first."""
    title = "Rating with 95% confidence interval"
    if not board.rows:
        return _empty(title)
    rows = board.rows
    fig = go.Figure(go.Scatter(
        x=[r.model for r in rows], y=[r.rating for r in rows], mode="markers",
        error_y={"type": "data", "symmetric": False,
                 "array": [r.upper - r.rating for r in rows],
                 "arrayminus": [r.rating - r.lower for r in rows]},
    ))  # fmt: skip
    fig.update_layout(title=title, xaxis_title="model", yaxis_title="rating", height=420)
    return fig


def _top(board: Board) -> tuple[list[str], np.ndarray]:
    names = [r.model for r in board.rows[:HEATMAP_MODELS]]
    index = {m: k for k, m in enumerate(board.models)}
    return names, np.array([index[m] for m in names], dtype=np.int64)


def _heatmap(board: Board, matrix: np.ndarray, title: str, fmt: str,
             colorscale: str = "RdBu") -> go.Figure:
    names, idx = _top(board)
    if not names:
        return _empty(title)
    sub = matrix[np.ix_(idx, idx)]
    text = [[("" if np.isnan(v) else format(v, fmt)) for v in row] for row in sub]
    fig = go.Figure(go.Heatmap(
        z=sub, x=names, y=names, text=text, texttemplate="%{text}", colorscale=colorscale,
        hovertemplate="%{y} vs %{x}: %{z}<extra></extra>",
    ))  # fmt: skip
    fig.update_layout(title=title, xaxis_title="model B", yaxis_title="model A", height=520,
                      yaxis_autorange="reversed")
    return fig


def win_fraction_figure(board: Board) -> go.Figure:
    title = "Fraction of battles model A won against model B (ties half)"
    if board.pairs is None:
        return _empty(title)
    return _heatmap(board, win_fraction_matrix(board.pairs), title, ".2f")


def battle_count_figure(board: Board) -> go.Figure:
    title = "Battles per model pair"
    if board.pairs is None:
        return _empty(title)
    counts = battle_count_matrix(board.pairs)
    np.fill_diagonal(counts, np.nan)
    return _heatmap(board, counts, title, ".0f", colorscale="Blues")


def predicted_win_figure(board: Board) -> go.Figure:
    title = "Predicted probability that model A beats model B"
    if board.fit is None:
        return _empty(title)
    rating = {r.model: r.rating for r in board.fit.rows}
    ratings = np.array([rating[m] for m in board.models])
    return _heatmap(board, predicted_win_matrix(ratings), title, ".2f")


def history_figure(history: History) -> go.Figure:
    title = "Rating over time (top models, refitted on the votes up to each point)"
    if not history.times:
        return _empty(title)
    when = [datetime.fromtimestamp(t, UTC) for t in history.times]
    fig = go.Figure([
        go.Scatter(x=when, y=list(values), mode="lines+markers", name=model, connectgaps=False)
        for model, values in history.ratings.items()
    ])  # fmt: skip
    fig.update_layout(title=title, xaxis_title="time (UTC)", yaxis_title="rating", height=420)
    return fig


__all__ = [
    "battle_count_figure",
    "history_figure",
    "predicted_win_figure",
    "ratings_figure",
    "win_fraction_figure",
]
