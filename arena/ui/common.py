"""Pieces shared by the battle and side-by-side tabs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr
from pydantic import BaseModel

from arena import services
from arena.context import Arena
from arena.models import BattlePublic
from arena.remote_media import links_for_remote_media
from arena.services.errors import ServiceError
from arena.services.voters import (
    VOTER_COOKIE,
    RequestFacts,
    Voter,
    resolve_voter,
    verified_voter_id,
)
from arena.ui.i18n import I18N, VOTE_NAMES, lang_of, tr

WINNER_BUTTONS = (
    ("model_a", "vote_a", "vote-a"),
    ("model_b", "vote_b", "vote-b"),
    ("tie", "vote_tie", "vote-tie"),
    ("tie (bothbad)", "vote_bothbad", "vote-bothbad"),
)

# The answer panels' schema in Gradio's API description, in place of the chatbot's own:
# private events fill them (the REST API is the arena's API), but Gradio puts three
# copies of its 5 KB schema per panel in the page's config, and copies and walks that
# config on every page load (~5 ms more CPU per voter for the four panels). Gradio
# reads a component's schema from `_api_info_cache` when set (tests/ui/test_session_costs.py).
MESSAGES_SCHEMA: dict[str, Any] = {"type": "array", "items": {"type": "object"}}


def voter_from(arena: Arena, request: gr.Request) -> Voter:
    """Who is voting (arena.services.voters.resolve_voter): the signed voter cookie, or
    Gradio's session for a client without one."""
    cookie = dict(request.cookies or {}).get(VOTER_COOKIE)
    facts = RequestFacts(
        client_host=request.client.host if request.client else None,
        headers={name.lower(): value for name, value in dict(request.headers or {}).items()},
        cookie_voter_id=verified_voter_id(arena.salt, cookie),
        fallback_voter_id=f"gradio-{request.session_hash}"[:64],
        login=getattr(request, "username", None),
    )
    try:
        return resolve_voter(arena, facts)
    except ServiceError as exc:
        raise gr.Error(str(exc)) from exc


def display_messages(conversation: Sequence[BaseModel | dict[str, Any]]) -> list[dict[str, Any]]:
    """A conversation as the voter's browser shows it: images and frames in the text as
    links, never loaded (arena.remote_media). The stored and REST text stays as written."""
    messages = [m if isinstance(m, dict) else m.model_dump() for m in conversation]
    return [{**m, "content": links_for_remote_media(m["content"])} for m in messages]


class VotePanel:
    """Two answers side by side, the reveal line and four vote buttons.

    The only per-session state is the battle id in a gr.State; which models
    fought stays in the database until the service reveals it after the vote.
    """

    def __init__(self, arena: Arena, prefix: str) -> None:
        self.arena = arena
        self.battle_id = gr.State(None)
        with gr.Row(equal_height=True):
            self.chat_a = gr.Chatbot(
                label=I18N("model_a"), elem_id=f"{prefix}-answer-a", height=520,
                feedback_options=None, buttons=["copy"],
                elem_classes=["arena-answer"], autoscroll=False,
            )
            self.chat_b = gr.Chatbot(
                label=I18N("model_b"), elem_id=f"{prefix}-answer-b", height=520,
                feedback_options=None, buttons=["copy"],
                elem_classes=["arena-answer"], autoscroll=False,
            )
        for chat in (self.chat_a, self.chat_b):
            chat._api_info_cache = MESSAGES_SCHEMA
        self.reveal = gr.Markdown("", elem_id=f"{prefix}-reveal")
        # The vote buttons are shown while a vote is possible, and hidden otherwise: one
        # update of their row, where enabling and disabling them was four button updates
        # (Gradio rebuilds an updated component and its config on every event: ~0.2 ms
        # each). The server decides whether a vote counts either way.
        with gr.Row(visible=False, elem_id=f"{prefix}-votes") as self.vote_row:
            self.buttons = [
                gr.Button(I18N(label), elem_id=f"{prefix}-{elem}")
                for _, label, elem in WINNER_BUTTONS
            ]

    @property
    def battle_outputs(self) -> list[Any]:
        return [self.battle_id, self.chat_a, self.chat_b, self.reveal, self.vote_row]

    def on(self, listener: Callable[..., Any], fn: Callable[..., tuple[Any, ...]], *,
           inputs: list[Any] | None = None) -> Any:
        """Wire *fn*, which returns what :meth:`show` returns, to an event *listener*
        (a button's click, blocks.load) with battle_outputs as its outputs."""
        return listener(fn, inputs=inputs, outputs=self.battle_outputs, postprocess=False,
                        api_visibility="private")

    def show(self, battle: BattlePublic | None, message: str = "") -> tuple[Any, ...]:
        """battle_outputs' values, already as the browser gets them: the events that show
        them run without Gradio's postprocessing (:meth:`on`), which would hand each
        output to a worker thread of its own."""
        if battle is None:
            return (None, self._chat(self.chat_a, []), self._chat(self.chat_b, []),
                    self.reveal.postprocess(message), self.voting(False))
        return (
            battle.battle_id,
            self._chat(self.chat_a, battle.conversation_a),
            self._chat(self.chat_b, battle.conversation_b),
            self.reveal.postprocess(message),
            self.voting(True),
        )

    @staticmethod
    def _chat(chat: gr.Chatbot, conversation: Sequence[BaseModel | dict[str, Any]]) -> Any:
        return chat.postprocess(display_messages(conversation)).model_dump()

    def start(self, request: gr.Request, **kwargs: Any) -> tuple[Any, ...]:
        voter = voter_from(self.arena, request)
        with self.arena.session() as session:
            try:
                battle = services.start_battle(
                    session, voter=voter, limits=self.arena.settings.limits,
                    answer_sets=self.arena.settings.battle.answer_sets,
                    named_mode=self.arena.settings.battle.named_mode,
                    sampler=self.arena.sampler, paused=self.arena.paused_models.current(),
                    **kwargs,
                )
            except services.ServiceError as exc:
                return self.show(None, tr("no_battle", voter.ui_language, error=str(exc)))
        return self.show(battle)

    def wire_votes(self) -> None:
        for (winner, _, _), button in zip(WINNER_BUTTONS, self.buttons, strict=True):
            button.click(
                self._vote_handler(winner),
                inputs=[self.battle_id],
                outputs=[self.reveal, self.vote_row],
                postprocess=False,  # the reveal is returned as the browser gets it
                api_visibility="private",
            )

    def _vote_handler(self, winner: str) -> Callable[..., tuple[Any, ...]]:
        def vote(battle_id: str | None, request: gr.Request) -> tuple[Any, ...]:
            message = self._vote_message(winner, battle_id, request)
            return (self.reveal.postprocess(message), self.voting(False))

        return vote

    def _vote_message(self, winner: str, battle_id: str | None, request: gr.Request) -> str:
        """The reveal after a vote, or why the vote was not recorded."""
        voter = voter_from(self.arena, request)
        if not battle_id:  # the buttons were enabled by a battle this process never saw
            return tr("vote_failed", voter.ui_language, error=tr("page_lost", voter.ui_language))
        with self.arena.session() as session:
            try:
                result = services.record_vote(
                    session, battle_id=battle_id, winner=winner, voter=voter,
                    limits=self.arena.settings.limits,
                )
            except services.ServiceError as exc:
                return tr("vote_failed", voter.ui_language, error=str(exc))
        vote_name = VOTE_NAMES[lang_of(voter.ui_language)][winner]
        message = tr("revealed", voter.ui_language, a=result.model_a, b=result.model_b,
                     vote=vote_name)
        return f"{message} {tr('voted_hint', voter.ui_language)}"

    @staticmethod
    def voting(open_: bool) -> dict[str, Any]:
        """The vote row's update: shown while a vote is possible."""
        return gr.update(visible=open_)
