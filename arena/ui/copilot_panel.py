"""Judge Copilot under a battle (the anonymous battle tab and the live tab): the
configured judge's comparison of the two answers, streamed in the voter's language
(arena.services.copilot decides when it may open)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import gradio as gr
from anyio import to_thread

from arena.context import Arena
from arena.providers.errors import ProviderError
from arena.remote_media import links_for_remote_media
from arena.services.copilot import CopilotClosed, copilot_comparison
from arena.services.errors import ServiceError
from arena.ui.common import VotePanel, voter_from
from arena.ui.i18n import FAILURE_REASONS, I18N, lang_of, tr


def render(arena: Arena, panel: VotePanel, prefix: str, next_button: gr.Button,
           *, clear_on: Sequence[Any] = ()) -> None:
    """The *Ask the judge* button and the comparison under it, emptied (and a comparison
    still streaming stopped) by *next_button* and by the events in *clear_on* (those that
    change the answers on screen: a new turn, a regenerated one)."""
    if not arena.settings.battle.copilot:
        return
    ask = gr.Button(I18N("copilot_ask"), elem_id=f"{prefix}-copilot")
    text = gr.Markdown("", elem_id=f"{prefix}-copilot-text")

    async def stream(battle_id: str | None, request: gr.Request) -> AsyncIterator[str]:
        voter = await to_thread.run_sync(voter_from, arena, request)
        language = voter.ui_language
        if not battle_id:
            yield tr("copilot_failed", language, error=tr("page_lost", language))
            return
        head = tr("copilot_head", language)
        so_far = ""
        try:
            async for piece in copilot_comparison(arena, battle_id=battle_id, voter=voter):
                so_far += piece
                yield f"{head}\n\n{links_for_remote_media(so_far)}"
        except CopilotClosed:
            yield tr("copilot_after_vote", language)
        except ServiceError as exc:
            yield tr("copilot_failed", language, error=str(exc))
        except ProviderError as exc:
            reason = FAILURE_REASONS[lang_of(language)].get(exc.kind, exc.kind)
            yield tr("copilot_failed", language, error=reason)

    asked = ask.click(stream, inputs=[panel.battle_id], outputs=[text],
                      api_visibility="private")
    gr.on([next_button.click, *clear_on], lambda: "", outputs=[text], cancels=[asked],
          api_visibility="private")
