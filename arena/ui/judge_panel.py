"""The leaderboard's "Judges beside people" panel, shown when [[judges]] are configured:
the chosen judge's own board (arena.services.leaderboard, the board of
GET /api/leaderboard?judge=NAME) and how far its board and verdicts agree with people's
(arena.services.agreement, the numbers of GET /api/leaderboard/agreement)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from arena.context import Arena
from arena.services.agreement import JudgeAgreement, judge_agreement
from arena.services.leaderboard import Board, View
from arena.services.voters import ui_language
from arena.ui.i18n import I18N, JUDGE_AGREEMENT_LABELS, JUDGE_BOARD_COLUMNS, lang_of, tr


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def agreement_text(found: JudgeAgreement, language: str | None = None) -> str:
    label = JUDGE_AGREEMENT_LABELS[lang_of(language)]
    rows = [
        (label["models"], str(found.models)),
        (label["spearman"], _number(found.spearman)),
        (label["kendall"], _number(found.kendall)),
        (label["human_separability"], _share(found.human_separability)),
        (label["judge_separability"], _share(found.judge_separability)),
        (label["battles"], str(found.battles)),
        (label["agreement"], _share(found.agreement)),
        (label["agreement_without_ties"].format(decided=found.decided),
         _share(found.agreement_without_ties)),
        (label["verdicts"], f"{found.judge_verdicts} / {found.judge_unreadable}"),
        (label["position_bias"].format(both_orders=found.both_orders),
         _share(found.position_bias)),
    ]
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def board_table(board: Board, language: str | None = None) -> dict[str, Any]:
    """The judge's board as the Dataframe's value, headed in the voter's language."""
    rows = [[r.rank_ub, r.model, round(r.rating, 1),
             f"+{r.upper - r.rating:.1f}/-{r.rating - r.lower:.1f}", r.votes]
            for r in board.rows]
    return {"headers": JUDGE_BOARD_COLUMNS[lang_of(language)], "data": rows}


def board_summary(board: Board, judge: str, min_votes: int, language: str | None = None
                  ) -> str:
    if not board.total_votes:
        return tr("judge_board_empty", language, judge=judge)
    models = len(board.fit.rows) if board.fit is not None else 0
    lines = [tr("judge_board_summary", language, judge=judge,
                votes=f"{board.total_votes:,}", models=str(models))]
    if board.error:
        lines.append(tr("lb_unfitted", language, error=board.error))
    if board.hidden:
        lines.append(tr("lb_hidden", language, hidden=str(board.hidden),
                        min_votes=str(min_votes)))
    return "\n\n".join(lines)


def load(arena: Arena, judge: str, language: str | None) -> tuple[str, dict[str, Any], str]:
    """The judge's board (as GET /api/leaderboard?judge=NAME has it) and its agreement."""
    cache = arena.leaderboard
    board = cache.board(View(judge=judge))
    with arena.read_session() as session:
        found = judge_agreement(session, cache, judge)
    return (board_summary(board, judge, cache.min_votes, language),
            board_table(board, language), agreement_text(found, language))


def render(arena: Arena, tab: gr.Tab) -> None:
    names = [judge.name for judge in arena.settings.judges]
    if not names:
        return
    with gr.Accordion(I18N("judge_title"), open=False, elem_id="judge-panel"):
        pick = gr.Dropdown(names, value=names[0], label=I18N("judge_pick"),
                           elem_id="judge-pick")
        with gr.Row():
            with gr.Column(scale=3):
                gr.Markdown(I18N("judge_board_title"), elem_id="judge-board-title")
                summary = gr.Markdown("", elem_id="judge-board-summary")
                board = gr.Dataframe(headers=JUDGE_BOARD_COLUMNS["en"], value=[],
                                     interactive=False, elem_id="judge-board")
            with gr.Column(scale=2):
                gr.Markdown(I18N("judge_beside_title"), elem_id="judge-beside-title")
                text = gr.Markdown("", elem_id="judge-agreement")

    def fill(name: str, request: gr.Request) -> tuple[Any, ...]:
        language = ui_language(request.headers.get("accept-language"))
        return load(arena, name if name in names else names[0], language)

    outputs = [summary, board, text]
    tab.select(fill, inputs=[pick], outputs=outputs, api_visibility="private")
    pick.input(fill, inputs=[pick], outputs=outputs, api_visibility="private")
