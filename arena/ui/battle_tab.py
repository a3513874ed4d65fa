"""Anonymous battle: two unnamed answers, a vote, then the reveal."""

from __future__ import annotations

import gradio as gr

from arena.context import Arena
from arena.ui import copilot_panel
from arena.ui.common import VotePanel
from arena.ui.i18n import I18N


def render(arena: Arena, blocks: gr.Blocks) -> None:
    gr.Markdown(I18N("battle_intro"))
    panel = VotePanel(arena, "battle")
    next_button = gr.Button(I18N("next_battle"), elem_id="battle-next", variant="primary")
    panel.wire_votes()
    copilot_panel.render(arena, panel, "battle", next_button)
    panel.on(next_button.click, panel.start)
    panel.on(blocks.load, panel.start)
