"""Live battle: the voter's prompt, two anonymous endpoints streaming their answers, and
the Judge Copilot under them when configured (arena.ui.copilot_panel)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import gradio as gr
from anyio import to_thread

from arena import services
from arena.context import Arena
from arena.models import Battle
from arena.remote_media import links_for_remote_media
from arena.services import live
from arena.ui import copilot_panel
from arena.ui.common import VotePanel, display_messages, voter_from
from arena.ui.i18n import I18N, failure_text, tr

STREAM_REFRESH_S = 0.04  # at most ~25 screen updates a second per battle


def render(arena: Arena) -> None:
    gr.Markdown(I18N("live_intro"))
    panel = VotePanel(arena, "live")
    with gr.Row():
        prompt = gr.Textbox(placeholder=I18N("live_placeholder"), show_label=False, scale=5,
                            elem_id="live-input", lines=1, max_lines=12)
        send = gr.Button(I18N("send"), variant="primary", scale=1, elem_id="live-send")
    with gr.Row():
        regenerate = gr.Button(I18N("regenerate"), elem_id="live-regenerate")
        new = gr.Button(I18N("new_battle"), elem_id="live-new")
    panel.wire_votes()
    # A new turn or a regenerated one changes the answers: the comparison shown goes.
    copilot_panel.render(arena, panel, "live", new,
                         clear_on=[send.click, prompt.submit, regenerate.click])
    outputs = [*panel.battle_outputs, prompt]

    def render_update(turn: live.LiveTurn, update: live.LiveUpdate,
                      bases: tuple[list[Any], list[Any]], language: str) -> tuple[Any, ...]:
        chats = [
            base + [{"role": "assistant",
                     "content": links_for_remote_media(update.texts[side])
                     + failure_text(update.errors[side], language)}]
            for side, base in zip(("a", "b"), bases, strict=True)
        ]
        failed = update.finished and update.status == "failed"
        message = tr("live_failed", language) if failed else ""
        ready = update.finished and update.status == "ready"
        return (turn.battle_id, *chats, message, panel.voting(ready), gr.Textbox())

    async def stream(turn: live.LiveTurn, bases: tuple[list[Any], list[Any]],
                     voter: services.Voter) -> AsyncIterator[tuple[Any, ...]]:
        async with aclosing(turn.updates(flush_interval=STREAM_REFRESH_S)) as updates:
            async for update in updates:
                if update.side or update.finished or any(update.errors.values()):
                    # (a side that ended well changes nothing on screen)
                    yield render_update(turn, update, bases, voter.ui_language)

    def turn_handler(prepare: Callable[..., Battle]) -> Callable[..., Any]:
        async def handler(battle_id: str | None, text: str,
                          request: gr.Request) -> AsyncIterator[tuple[Any, ...]]:
            voter = voter_from(arena, request)
            try:
                battle = await to_thread.run_sync(prepare, battle_id, text, voter)
            except services.ServiceError as exc:
                message = tr("no_battle", voter.ui_language, error=str(exc))
                yield (battle_id, gr.Chatbot(), gr.Chatbot(), message, gr.skip(),
                       gr.Textbox())
                return
            # Read before the turn starts: storing it extends these conversations.
            bases = (display_messages(battle.conversation_a),
                     display_messages(battle.conversation_b))
            turn = live.start_turn(arena, battle)
            try:
                yield (turn.battle_id, *bases, "", panel.voting(False), gr.Textbox(value=""))
                async with aclosing(stream(turn, bases, voter)) as updates:
                    async for update in updates:
                        yield update
            finally:
                await turn.abandon()  # the voter left before the answers were relayed

        return handler

    def submit(battle_id: str | None, text: str, voter: services.Voter) -> Battle:
        with arena.session() as session:
            return live.submit_prompt(session, voter=voter, prompt=text or "",
                                      settings=arena.settings, battle_id=battle_id,
                                      paused=arena.paused_models.current(),
                                  sampler=arena.sampler)

    def again(battle_id: str | None, _text: str, voter: services.Voter) -> Battle:
        if not battle_id:
            raise services.InvalidInput(tr("no_current", voter.ui_language))
        with arena.session() as session:
            return live.prepare_regenerate(session, battle_id=battle_id, voter=voter)

    for trigger in (send.click, prompt.submit):
        trigger(turn_handler(submit), inputs=[panel.battle_id, prompt], outputs=outputs,
                api_visibility="private")
    regenerate.click(turn_handler(again), inputs=[panel.battle_id, prompt], outputs=outputs,
                     api_visibility="private")
    # Keeps the textbox: the voter may already be typing the next prompt.
    panel.on(new.click, lambda: panel.show(None))
