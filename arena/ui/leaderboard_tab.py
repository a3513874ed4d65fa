"""Minimal leaderboard: votes and win rates per model."""

from __future__ import annotations

import gradio as gr

from arena import services
from arena.context import Arena
from arena.ui.i18n import I18N

COLUMNS = ["Model", "Votes", "Win rate", "Wins", "Losses", "Ties", "Answers"]


def table(arena: Arena) -> list[list[object]]:
    with arena.session() as session:
        rows = services.model_stats(session, anony_only=True)
    minimum = arena.settings.battle.leaderboard_min_votes
    return [
        [r.model, r.votes, f"{r.win_rate:.1%}" if r.win_rate is not None else "—",
         r.wins, r.losses, r.ties, r.answers]
        for r in rows
        if r.votes >= minimum
    ]


def render(arena: Arena, tab: gr.Tab) -> None:
    gr.Markdown(I18N("leaderboard_intro"))
    frame = gr.Dataframe(headers=COLUMNS, value=[], interactive=False,
                         elem_id="leaderboard-table")
    refresh = gr.Button(I18N("refresh"), elem_id="leaderboard-refresh")
    tab.select(lambda: table(arena), outputs=frame, api_visibility="private")
    refresh.click(lambda: table(arena), outputs=frame, api_visibility="private")
