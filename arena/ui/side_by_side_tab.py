"""Named side-by-side comparison: the voter picks both models."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from arena import services
from arena.context import Arena
from arena.services.voters import ui_language
from arena.ui.common import VotePanel, voter_from
from arena.ui.i18n import I18N, tr

log = logging.getLogger("arena.ui")


def render(arena: Arena, tab: gr.Tab) -> None:
    """The named tab (not built when battle.named_mode is "off"). Under "separate" it
    offers only models with answers anonymous battles never show, or says why none."""
    gr.Markdown(I18N("side_intro"))
    notice = gr.Markdown("", elem_id="sbs-notice")
    with gr.Row():
        pick_a = gr.Dropdown(label=I18N("pick_a"), choices=[], elem_id="sbs-pick-a")
        pick_b = gr.Dropdown(label=I18N("pick_b"), choices=[], elem_id="sbs-pick-b")
        draw = gr.Button(I18N("draw_prompt"), elem_id="sbs-draw", variant="primary")
    panel = VotePanel(arena, "sbs")
    panel.wire_votes()

    def load_models(request: gr.Request) -> tuple[Any, Any, str]:
        # Filled when the tab opens, so model names are not in the page config.
        settings = arena.settings.battle
        with arena.read_session() as session:
            try:
                names = services.models_with_answers(session, settings.answer_sets,
                                                     named_mode=settings.named_mode)
                message = ""
            except services.ServiceError as exc:
                # What to configure is for the owner (logged); the voter is told plainly.
                log.info("named tab empty: %s", exc)
                language = ui_language(dict(request.headers or {}).get("accept-language"))
                names, message = [], tr("named_unavailable", language)
        first = names[0] if names else None
        second = names[1] if len(names) > 1 else None
        return (gr.Dropdown(choices=names, value=first),
                gr.Dropdown(choices=names, value=second), message)

    def draw_battle(model_a: str | None, model_b: str | None,
                    request: gr.Request) -> tuple[Any, ...]:
        if not model_a or not model_b:
            voter = voter_from(arena, request)
            return panel.show(None, tr("no_battle", voter.ui_language,
                                       error=tr("pick_two", voter.ui_language)))
        return panel.start(request, models=(model_a, model_b))

    tab.select(load_models, outputs=[pick_a, pick_b, notice], api_visibility="private")
    panel.on(draw.click, draw_battle, inputs=[pick_a, pick_b])
