"""The leaderboard's "How battles were sampled" panel: each model's share of battles and
votes over a window, next to the share the pair policy intended
(arena.services.exposure_report; the same numbers as GET /api/leaderboard/exposure)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import gradio as gr

from arena.context import Arena
from arena.models import utcnow
from arena.services.exposure_report import ExposureReport
from arena.services.voters import ui_language
from arena.ui.i18n import I18N, lang_of, tr

COLUMNS = ["Model", "Battles", "Battle share", "Votes", "Vote share", "Intended share"]
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
           "all": None}
WINDOW_TEXT = {
    "en": {"24h": "in the last 24 hours", "7d": "in the last 7 days",
           "30d": "in the last 30 days", "all": "in all"},
    "zh": {"24h": "最近 24 小时内", "7d": "最近 7 天内", "30d": "最近 30 天内",
           "all": "全部时间内"},
}


def rows(report: ExposureReport) -> list[list[object]]:
    return [[m.model, m.battles, f"{m.battle_share:.1%}", m.votes, f"{m.vote_share:.1%}",
             "—" if m.intended_share is None else f"{m.intended_share:.1%}"]
            for m in report.models]


def load(arena: Arena, window: str, language: str | None) -> tuple[str, list[list[object]]]:
    span = WINDOWS.get(window, WINDOWS["7d"])
    since = utcnow() - span if span is not None else None
    with arena.read_session() as session:
        report = arena.exposure.report(session, since=since)
    text = tr("exp_summary", language, battles=f"{report.battles:,}", votes=f"{report.votes:,}",
              window=WINDOW_TEXT[lang_of(language)].get(window, ""),
              policies=", ".join(report.policies) or "—",
              with_intent=f"{report.battles_with_intent:,}")
    return text, rows(report)


def render(arena: Arena, tab: gr.Tab) -> None:
    with gr.Accordion(I18N("exp_title"), open=False, elem_id="exposure-panel"):
        window = gr.Dropdown([("24 h", "24h"), ("7 days", "7d"), ("30 days", "30d"),
                              ("All", "all")], value="7d", label=I18N("exp_window"),
                             elem_id="exposure-window")
        summary = gr.Markdown("", elem_id="exposure-summary")
        table = gr.Dataframe(headers=COLUMNS, value=[], interactive=False,
                             elem_id="exposure-table")

    def fill(window: str, request: gr.Request) -> tuple[Any, ...]:
        return load(arena, window, ui_language(request.headers.get("accept-language")))

    tab.select(fill, inputs=[window], outputs=[summary, table], api_visibility="private")
    window.input(fill, inputs=[window], outputs=[summary, table], api_visibility="private")
