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
from arena.services.board_bootstrap import BootstrapIntervals
from arena.services.leaderboard import (
    CONTROLS,
    Board,
    BoardRow,
    View,
    board_coefficients,
    win_rates_vs,
)
from arena.services.leaderboard_history import rating_history
from arena.services.voters import ui_language
from arena.ui import exposure_panel, judge_panel
from arena.ui import leaderboard_plots as plots
from arena.ui.i18n import I18N, tr

COLUMNS = ["Rank (UB)", "Model", "Rating", "95% CI", "Votes", "Win rate", "Organization",
           "License", "P(win) vs baseline", "Bootstrap 95% CI"]
NO_BASELINE = "—"
ALL = "All"
LANGUAGE_CHOICES = [("All", ALL), ("English", "en"), ("Chinese", "zh"), ("Other", "other")]
TURN_CHOICES = [("All", ALL), ("Single-turn", "single"), ("Multi-turn", "multi")]


CONTROL_CHOICES = [("Category", "category"), ("Language", "language"), ("Turns", "turns")]


def make_view(category: str, language: str, turns: str, style: bool, anony: bool,
              dedup: bool = True, controls: list[str] | None = None) -> View:
    return View(
        category=None if category in (None, "", ALL) else category,
        language=None if language in (None, "", ALL) else language,
        turns=None if turns in (None, "", ALL) else turns,  # type: ignore[arg-type]
        style_control=bool(style),
        anony_only=bool(anony),
        dedup_prompts=bool(dedup),
        controls=tuple(c for c in CONTROLS if c in (controls or ())),
    )


def table_rows(board: Board, baseline: str | None = None,
               bootstrap: BootstrapIntervals | None = None) -> list[list[object]]:
    """The board's rows; with a *baseline* on the board, each model's predicted chance of
    being preferred to it (arena.services.leaderboard.win_rates_vs); with the public
    board's scheduled *bootstrap*, its intervals."""
    on_board = {r.model for r in board.rows}
    chances = win_rates_vs(board, baseline) if baseline in on_board else {}
    bounds = bootstrap.bounds if bootstrap is not None else {}

    def boot(r: BoardRow) -> str:
        if r.model not in bounds:
            return ""
        lower, upper = bounds[r.model]
        return f"+{upper - r.rating:.1f}/-{r.rating - lower:.1f}"

    return [
        [r.rank_ub, r.model, round(r.rating, 1),
         f"+{r.upper - r.rating:.1f}/-{r.rating - r.lower:.1f}", r.votes, f"{r.win_rate:.1%}",
         r.organization or "", r.license or "",
         f"{chances[r.model]:.1%}" if r.model in chances else "", boot(r)]
        for r in board.rows
    ]  # fmt: skip


def summary(board: Board, n_models: int, language: str | None = None) -> str:
    when = (datetime.fromtimestamp(board.last_vote_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if board.last_vote_at else "—")
    return tr("lb_summary", language, votes=f"{board.total_votes:,}", models=str(n_models),
              when=when)


def notes(board: Board, min_votes: int, language: str | None = None) -> str:
    lines = []
    if board.error:
        lines.append(tr("lb_unfitted", language, error=board.error))
    if board.hidden:
        lines.append(tr("lb_hidden", language, hidden=str(board.hidden),
                        min_votes=str(min_votes)))
    if board.fit is not None and len(board.fit.components) > 1:
        groups = "; ".join("{" + ", ".join(g) + "}" for g in board.fit.components)
        lines.append(tr("lb_disconnected", language, groups=groups))
    lines.append(tr("lb_method", language))
    return "\n\n".join(lines)


def style_text(board: Board, language: str | None = None) -> str:
    """The contextual fit's coefficients (style per standard deviation of the answers'
    difference; groups as the first-shown answer's odds), as OpenCompass reports them."""
    if not board.view.contextual or board.fit is None:
        return ""
    lines = [tr("lb_coef_head", language), "|---|---|---|---|"]
    for c in board_coefficients(board):
        lines.append(f"| {c['name']} | {c['coefficient']:+.4f} | [{c['lower']:+.4f}, "
                     f"{c['upper']:+.4f}] | {c['odds_ratio']:.3f} "
                     f"({c['odds_ratio_lower']:.3f}–{c['odds_ratio_upper']:.3f}) |")
    heads = []
    if board.view.style_control:
        heads.append(tr("lb_style_on", language))
    if board.view.controls:
        heads.append(tr("lb_controls_on", language, controls=", ".join(board.view.controls)))
    return "\n\n".join(heads) + "\n\n" + "\n".join(lines)


def load(arena: Arena, category: str, language: str, turns: str, style: bool,
         anony: bool, ui_language: str | None = None, dedup: bool = True,
         controls: list[str] | None = None, baseline: str | None = None) -> tuple[Any, ...]:
    cache = arena.leaderboard
    view = make_view(category, language, turns, style, anony, dedup, controls)
    board = cache.board(view)
    history = cache.extra("history", view, lambda snap, b: rating_history(
        snap, b, dedup_threshold=cache.dedup_threshold))
    n_models = len(board.fit.rows) if board.fit is not None else 0
    categories = [ALL, *cache.categories()]
    bases = [NO_BASELINE, *sorted(r.model for r in board.rows)]
    bootstrap = arena.bootstrap.latest if view == View() else None
    note = notes(board, cache.min_votes, ui_language)
    if bootstrap is not None:
        note += "\n\n" + tr("lb_bootstrap", ui_language, rounds=str(bootstrap.rounds),
                             minutes=str(round(bootstrap.age_seconds() / 60)),
                             votes=f"{bootstrap.votes:,}")
    return (
        gr.update(choices=categories, value=category if category in categories else ALL),
        gr.update(choices=bases, value=baseline if baseline in bases else NO_BASELINE),
        summary(board, n_models, ui_language),
        table_rows(board, baseline, bootstrap),
        note,
        style_text(board, ui_language),
        plots.ratings_figure(board),
        plots.win_fraction_figure(board),
        plots.battle_count_figure(board),
        plots.predicted_win_figure(board),
        plots.history_figure(history),
    )


def render(arena: Arena, tab: gr.Tab) -> None:
    gr.Markdown(I18N("lb_intro"))
    with gr.Row():
        category = gr.Dropdown([ALL], value=ALL, label=I18N("lb_category"),
                               elem_id="leaderboard-category")
        language = gr.Dropdown(LANGUAGE_CHOICES, value=ALL, label=I18N("lb_language"),
                               elem_id="leaderboard-language")
        turns = gr.Dropdown(TURN_CHOICES, value=ALL, label=I18N("lb_turns"),
                            elem_id="leaderboard-turns")
        style = gr.Checkbox(False, label=I18N("lb_style"), elem_id="leaderboard-style")
        anony = gr.Checkbox(True, label=I18N("lb_anony"), elem_id="leaderboard-anony")
        dedup = gr.Checkbox(True, label=I18N("lb_dedup"), elem_id="leaderboard-dedup")
        controls = gr.CheckboxGroup(CONTROL_CHOICES, value=[], label=I18N("lb_controls"),
                                    elem_id="leaderboard-controls")
        baseline = gr.Dropdown([NO_BASELINE], value=NO_BASELINE, label=I18N("lb_baseline"),
                               elem_id="leaderboard-baseline")
    head = gr.Markdown("", elem_id="leaderboard-summary")
    frame = gr.Dataframe(headers=COLUMNS, value=[], interactive=False,
                         elem_id="leaderboard-table")
    note = gr.Markdown("", elem_id="leaderboard-notes")
    coefs = gr.Markdown("", elem_id="leaderboard-style-coefficients")
    refresh = gr.Button(I18N("lb_refresh"), elem_id="leaderboard-refresh")
    with gr.Row():
        ratings = gr.Plot(elem_id="leaderboard-plot-ratings", show_label=False)
        history = gr.Plot(elem_id="leaderboard-plot-history", show_label=False)
    with gr.Row():
        wins = gr.Plot(elem_id="leaderboard-plot-winfraction", show_label=False)
        predicted = gr.Plot(elem_id="leaderboard-plot-predicted", show_label=False)
    counts = gr.Plot(elem_id="leaderboard-plot-counts", show_label=False)
    exposure_panel.render(arena, tab)
    judge_panel.render(arena, tab)
    inputs = [category, language, turns, style, anony, dedup, controls, baseline]
    outputs = [category, baseline, head, frame, note, coefs, ratings, wins, counts, predicted,
               history]

    def fill(category: str, language: str, turns: str, style: bool, anony: bool,
             dedup: bool, controls: list[str], baseline: str,
             request: gr.Request) -> tuple[Any, ...]:
        return load(arena, category, language, turns, style, anony,
                    ui_language(request.headers.get("accept-language")), dedup, controls,
                    baseline)

    tab.select(fill, inputs=inputs, outputs=outputs, api_visibility="private")
    refresh.click(fill, inputs=inputs, outputs=outputs, api_visibility="private")
    # One event for every control, re-run with the latest values when one changes while a
    # fit is pending: separate events could finish out of order and show a stale board.
    gr.on([control.input for control in inputs], fill, inputs=inputs, outputs=outputs,
          api_visibility="private", trigger_mode="always_last")
