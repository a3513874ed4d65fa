"""The leaderboard's "Judges beside people" panel, shown when [[judges]] are configured:
how far each judge's board and verdicts agree with people's (arena.services.agreement,
the same numbers as GET /api/leaderboard/agreement)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from arena.context import Arena
from arena.services.agreement import JudgeAgreement, judge_agreement
from arena.ui.i18n import I18N


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def agreement_text(found: JudgeAgreement) -> str:
    rows = [
        ("Models on both boards", str(found.models)),
        ("Spearman rank correlation", _number(found.spearman)),
        ("Kendall tau-b", _number(found.kendall)),
        ("Separability, people's board", _share(found.human_separability)),
        ("Separability, judge's board", _share(found.judge_separability)),
        ("Battles judged by both", str(found.battles)),
        ("Agreement, ties as a verdict", _share(found.agreement)),
        (f"Agreement without ties ({found.decided} battles)",
         _share(found.agreement_without_ties)),
        ("Judge verdicts / unreadable", f"{found.judge_verdicts} / {found.judge_unreadable}"),
        (f"Position bias ({found.both_orders} items in both orders)",
         _share(found.position_bias)),
    ]
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def render(arena: Arena, tab: gr.Tab) -> None:
    names = [judge.name for judge in arena.settings.judges]
    if not names:
        return
    with gr.Accordion(I18N("judge_title"), open=False, elem_id="judge-panel"):
        pick = gr.Dropdown(names, value=names[0], label=I18N("judge_pick"),
                           elem_id="judge-pick")
        text = gr.Markdown("", elem_id="judge-agreement")

    def fill(name: str) -> str:
        with arena.read_session() as session:
            return agreement_text(judge_agreement(session, arena.leaderboard, name))

    def load(name: str) -> Any:
        return fill(name if name in names else names[0])

    tab.select(load, inputs=[pick], outputs=[text], api_visibility="private")
    pick.input(load, inputs=[pick], outputs=[text], api_visibility="private")
