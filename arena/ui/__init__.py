"""The voter-facing Gradio UI: a thin layer over arena.services."""

from __future__ import annotations

import gradio as gr

from arena.context import Arena
from arena.ui import (
    about_tab,
    battle_tab,
    leaderboard_tab,
    live_tab,
    session_costs,
    side_by_side_tab,
)
from arena.ui.event_queue import configure_queue
from arena.ui.i18n import I18N

__all__ = ["I18N", "build_blocks"]


def build_blocks(arena: Arena) -> gr.Blocks:
    with gr.Blocks(title=arena.settings.server.title, analytics_enabled=False) as blocks:
        gr.Markdown(I18N("title"), elem_id="arena-title")
        with gr.Tabs():
            if arena.settings.models:
                with gr.Tab(I18N("tab_live"), id="live", elem_id="tab-live"):
                    live_tab.render(arena)
            with gr.Tab(I18N("tab_battle"), id="battle", elem_id="tab-battle"):
                battle_tab.render(arena, blocks)
            if arena.settings.battle.named_mode != "off":
                with gr.Tab(I18N("tab_side"), id="side", elem_id="tab-side") as side:
                    side_by_side_tab.render(arena, side)
            with gr.Tab(I18N("tab_leaderboard"), id="leaderboard",
                        elem_id="tab-leaderboard") as board:
                leaderboard_tab.render(arena, board)
            with gr.Tab(I18N("tab_about"), id="about", elem_id="tab-about"):
                about_tab.render()
    configure_queue(blocks, arena.settings.server)
    session_costs.install(blocks)
    return blocks
