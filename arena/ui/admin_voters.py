"""The owner's *Voters* tab on /admin: who the audit or the owner flagged and why;
run the audit, flag or clear a voter, flag or unflag a battle (the same services as
`arena voters ...` and `arena battles ...`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from arena.context import Arena
from arena.services.audit import run_audit_apart
from arena.services.errors import ServiceError
from arena.services.flags import flag_voter, flagged_voters, set_battle_flag, unflag_voter

COLUMNS = ["voter", "state", "by", "owner's review", "reason", "battles", "updated (UTC)"]


def voter_rows(arena: Arena) -> list[list[Any]]:
    with arena.read_session() as session:
        rows = flagged_voters(session, include_cleared=True)
    return [[r.voter_id, "flagged" if r.flagged else "cleared", r.source, r.review or "",
             r.reason, r.battles, f"{r.updated_at:%Y-%m-%d %H:%M}"] for r in rows]


def build_voters_tab(arena: Arena) -> tuple[Callable[[], Any], list[Any]]:
    gr.Markdown("Votes of flagged voters, and votes the audit found implausible, are left "
                "out of the leaderboard (a board view can include them). The audit runs "
                "every `audit.interval_minutes`; your flag or clearance overrides it.",
                elem_id="admin-voters-intro")
    table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="admin-voters-table")
    with gr.Row():
        audit = gr.Button("Run the audit now", size="sm", elem_id="admin-voters-audit")
        refresh = gr.Button("Refresh", size="sm", elem_id="admin-voters-refresh")
    with gr.Row():
        voter = gr.Textbox(label="Voter id", elem_id="admin-voter-id")
        flag = gr.Button("Flag / confirm", size="sm", elem_id="admin-voter-flag")
        clear = gr.Button("Clear", size="sm", elem_id="admin-voter-clear")
    with gr.Row():
        battle = gr.Textbox(label="Battle id", elem_id="admin-battle-id")
        flag_battle = gr.Button("Flag battle", size="sm", elem_id="admin-battle-flag")
        unflag_battle = gr.Button("Unflag battle", size="sm", elem_id="admin-battle-unflag")
    notice = gr.Markdown(elem_id="admin-voters-notice")

    def acting(action: Callable[[Any, str], None],
               done: str) -> Callable[[str], tuple[str, Any]]:
        def handler(value: str) -> tuple[str, Any]:
            value = (value or "").strip()
            if not value:
                raise gr.Error("enter an id")
            try:
                with arena.session() as session:
                    action(session, value)
            except ServiceError as exc:
                raise gr.Error(str(exc)) from exc
            return f"{value}: {done}", voter_rows(arena)

        return handler

    def on_audit() -> tuple[str, Any]:
        return run_audit_apart(arena.settings).summary(), voter_rows(arena)

    audit.click(on_audit, None, [notice, table], concurrency_limit=1)
    refresh.click(lambda: voter_rows(arena), None, table)
    flag.click(acting(lambda s, v: flag_voter(s, v, "flagged on the owner page"), "flagged"),
               voter, [notice, table])
    clear.click(acting(unflag_voter, "cleared"), voter, [notice, table])
    flag_battle.click(acting(lambda s, b: set_battle_flag(s, b, True), "battle flagged"),
                      battle, [notice, table])
    unflag_battle.click(acting(lambda s, b: set_battle_flag(s, b, False), "battle unflagged"),
                        battle, [notice, table])
    return (lambda: voter_rows(arena)), [table]
