"""Leaderboard tab: live Bradley-Terry ratings with intervals, views and plots.

Nothing about models is rendered at build time (the page config must not list
them before votes exist): the table and plots are filled when the tab is
selected, when a view selector changes, and on Refresh.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import gradio as gr

from arena.context import Arena
from arena.services.leaderboard import Board, View
from arena.services.leaderboard_history import rating_history
from arena.ui import leaderboard_plots as plots

COLUMNS = ["Rank (UB)", "Model", "Rating", "95% CI", "Votes", "Win rate", "Organization",
           "License"]
ALL = "All"
LANGUAGE_CHOICES = [("All", ALL), ("English", "en"), ("Chinese", "zh"), ("Other", "other")]
TURN_CHOICES = [("All", ALL), ("Single-turn", "single"), ("Multi-turn", "multi")]
INTRO = (
    "Bradley-Terry ratings from the votes, updated live, with 95% confidence intervals. "
    "**Rank (UB)** is 1 + the number of models whose interval lies wholly above this "
    "model's. Identity-leak and flagged battles are left out."
)


def make_view(category: str, language: str, turns: str, style: bool, anony: bool) -> View:
    return View(
        category=None if category in (None, "", ALL) else category,
        language=None if language in (None, "", ALL) else language,
        turns=None if turns in (None, "", ALL) else turns,  # type: ignore[arg-type]
        style_control=bool(style),
        anony_only=bool(anony),
    )


def table_rows(board: Board) -> list[list[object]]:
    return [
        [r.rank_ub, r.model, round(r.rating, 1),
         f"+{r.upper - r.rating:.1f}/-{r.rating - r.lower:.1f}", r.votes, f"{r.win_rate:.1%}",
         r.organization or "", r.license or ""]
        for r in board.rows
    ]  # fmt: skip


def summary(board: Board, n_models: int) -> str:
    when = (datetime.fromtimestamp(board.last_vote_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if board.last_vote_at else "—")
    return (f"**{board.total_votes:,}** votes in this view · **{n_models}** models · "
            f"last vote {when}")


def notes(board: Board, min_votes: int) -> str:
    lines = []
    if board.error:
        lines.append(f"The ratings cannot be fitted yet: {board.error}")
    if board.hidden:
        lines.append(f"{board.hidden} model(s) with fewer than {min_votes} votes are not shown.")
    if board.fit is not None and len(board.fit.components) > 1:
        groups = "; ".join("{" + ", ".join(g) + "}" for g in board.fit.components)
        lines.append(f"The comparison graph is not connected ({groups}): ratings in different "
                     "groups are not comparable.")
    return "\n\n".join(lines)


def style_text(board: Board) -> str:
    if not board.view.style_control or board.fit is None:
        return ""
    fit = board.fit
    lines = ["| Style feature | Coefficient | 95% CI |", "|---|---|---|"]
    for name, coef in fit.style_coefficients.items():
        lines.append(f"| {name} | {coef:+.4f} | [{fit.style_lower[name]:+.4f}, "
                     f"{fit.style_upper[name]:+.4f}] |")
    return "**Style control on**: ratings hold answer length and markdown fixed.\n\n" + (
        "\n".join(lines))


def load(arena: Arena, category: str, language: str, turns: str, style: bool,
         anony: bool) -> tuple[Any, ...]:
    cache = arena.leaderboard
    view = make_view(category, language, turns, style, anony)
    board = cache.board(view)
    history = cache.extra("history", view, lambda snap, b: rating_history(snap, b))
    n_models = len(board.fit.rows) if board.fit is not None else 0
    categories = [ALL, *cache.categories()]
    return (
        gr.update(choices=categories, value=category if category in categories else ALL),
        summary(board, n_models),
        table_rows(board),
        notes(board, cache.min_votes),
        style_text(board),
        plots.ratings_figure(board),
        plots.win_fraction_figure(board),
        plots.battle_count_figure(board),
        plots.predicted_win_figure(board),
        plots.history_figure(history),
    )


def render(arena: Arena, tab: gr.Tab) -> None:
    gr.Markdown(INTRO)
    with gr.Row():
        category = gr.Dropdown([ALL], value=ALL, label="Category", elem_id="leaderboard-category")
        language = gr.Dropdown(LANGUAGE_CHOICES, value=ALL, label="Prompt language",
                               elem_id="leaderboard-language")
        turns = gr.Dropdown(TURN_CHOICES, value=ALL, label="Turns", elem_id="leaderboard-turns")
        style = gr.Checkbox(False, label="Style control", elem_id="leaderboard-style")
        anony = gr.Checkbox(True, label="Anonymous votes only", elem_id="leaderboard-anony")
    head = gr.Markdown("", elem_id="leaderboard-summary")
    frame = gr.Dataframe(headers=COLUMNS, value=[], interactive=False,
                         elem_id="leaderboard-table")
    note = gr.Markdown("", elem_id="leaderboard-notes")
    coefs = gr.Markdown("", elem_id="leaderboard-style-coefficients")
    refresh = gr.Button("🔄 Refresh", elem_id="leaderboard-refresh")
    with gr.Row():
        ratings = gr.Plot(elem_id="leaderboard-plot-ratings", show_label=False)
        history = gr.Plot(elem_id="leaderboard-plot-history", show_label=False)
    with gr.Row():
        wins = gr.Plot(elem_id="leaderboard-plot-winfraction", show_label=False)
        predicted = gr.Plot(elem_id="leaderboard-plot-predicted", show_label=False)
    counts = gr.Plot(elem_id="leaderboard-plot-counts", show_label=False)
    inputs = [category, language, turns, style, anony]
    outputs = [category, head, frame, note, coefs, ratings, wins, counts, predicted, history]

    def fill(*values: Any) -> tuple[Any, ...]:
        return load(arena, *values)

    tab.select(fill, inputs=inputs, outputs=outputs, api_visibility="private")
    refresh.click(fill, inputs=inputs, outputs=outputs, api_visibility="private")
    for control in inputs:
        control.input(fill, inputs=inputs, outputs=outputs, api_visibility="private")
