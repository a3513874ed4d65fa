"""The owner's *Live models* tab on /admin: state and last failure of each endpoint,
unpause, check, reload, and trial battles between two chosen models.

Every action calls the same services as `arena models ...` and /api/admin/*.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import gradio as gr

from arena.context import Arena
from arena.services import live
from arena.services.errors import ServiceError
from arena.services.live_check import check_models
from arena.services.live_config import reload_models
from arena.services.live_health import live_model_status, unpause_model

STATUS_COLUMNS = ["model", "state", "weight", "failures in a row", "last failure (UTC)",
                  "kind", "reason", "failures last hour"]
TRIAL_FLUSH_S = 0.1


def status_rows(arena: Arena) -> list[list[Any]]:
    with arena.read_session() as session:
        rows = live_model_status(session, arena.settings)
    table = []
    for row in rows:
        if row["missing_key"]:
            state = "API key variable not set"
        elif row["paused_until"]:
            state = f"paused until {row['paused_until']:%Y-%m-%d %H:%M:%S}"
        else:
            state = "available" if row["available"] else "weight 0 (not drawn)"
        failure = row["last_failure"]
        table.append([row["model"], state, row["weight"], row["consecutive_failures"],
                      f"{failure.at:%Y-%m-%d %H:%M:%S}" if failure else "",
                      failure.kind if failure else "", failure.reason if failure else "",
                      failure.last_hour if failure else 0])
    return table


def _names(arena: Arena) -> list[str]:
    return [m.name for m in arena.settings.models]


def build_live_models_tab(arena: Arena) -> tuple[Callable[[], Any], list[Any]]:
    """Components of the tab, inside the admin Blocks; returns what the page's load
    event calls to fill it, and its outputs."""
    gr.Markdown("Each configured endpoint, whether voters are drawn to it now, and its "
                "last failure. A trial battle is named and stored apart: never voted, "
                "never on the leaderboard.", elem_id="admin-models-intro")
    table = gr.Dataframe(headers=STATUS_COLUMNS, interactive=False,
                         elem_id="admin-models-status")
    with gr.Row():
        refresh = gr.Button("Refresh", size="sm", elem_id="admin-models-refresh")
        check = gr.Button("Check endpoints", size="sm", elem_id="admin-models-check")
        reload = gr.Button("Reload config", size="sm", elem_id="admin-models-reload")
    with gr.Row():
        paused = gr.Dropdown(choices=_names(arena), label="Model", elem_id="admin-unpause-model")
        unpause = gr.Button("Unpause", size="sm", elem_id="admin-unpause")
    notice = gr.Markdown(elem_id="admin-models-notice")
    gr.Markdown("### Trial battle", elem_id="admin-trial-heading")
    with gr.Row():
        model_a = gr.Dropdown(choices=_names(arena), label="Model A",
                              elem_id="admin-trial-model-a")
        model_b = gr.Dropdown(choices=_names(arena), label="Model B",
                              elem_id="admin-trial-model-b")
    prompt = gr.Textbox(label="Prompt", lines=2, elem_id="admin-trial-prompt")
    run = gr.Button("Run trial battle", variant="primary", elem_id="admin-trial-run")
    with gr.Row():
        answer_a = gr.Markdown(label="Model A", elem_id="admin-trial-answer-a")
        answer_b = gr.Markdown(label="Model B", elem_id="admin-trial-answer-b")
    outcome = gr.Markdown(elem_id="admin-trial-outcome")

    def refreshed() -> tuple[list[list[Any]], Any, Any, Any]:
        names = _names(arena)
        return (status_rows(arena), gr.update(choices=names), gr.update(choices=names),
                gr.update(choices=names))

    async def on_check() -> str:
        results = await check_models(arena.settings, client=arena.http_client())
        return "\n".join(f"- **{r.model}**: {r.line()}" for r in results) or "no live models"

    def on_unpause(name: str | None) -> tuple[str, list[list[Any]]]:
        if not name:
            raise gr.Error("choose a model")
        with arena.session() as session:
            was_paused = unpause_model(session, name)
        arena.paused_models.note(name, None)
        return (f"{name}: unpaused" if was_paused else f"{name} was not paused",
                status_rows(arena))

    def on_reload() -> tuple[str, list[list[Any]], Any, Any, Any]:
        try:
            summary = reload_models(arena).summary()
        except ServiceError as exc:
            raise gr.Error(str(exc)) from exc
        return (f"Reloaded: {summary}", *refreshed())

    async def on_trial(a: str | None, b: str | None, text: str) -> AsyncIterator[
            tuple[str, str, str]]:
        try:
            battle = live.trial_battle(arena.settings, [a or "", b or ""], prompt=text)
        except ServiceError as exc:
            raise gr.Error(str(exc)) from exc
        yield "", "", "answering…"
        async for update in live.run_turn(arena, battle, flush_interval=TRIAL_FLUSH_S):
            errors = {side: kind for side, kind in update.errors.items() if kind}
            if update.finished:
                stored = update.battle
                status = stored.status if stored else update.status
                failed = ", ".join(f"{[a, b][side == 'b']}: {kind}"
                                   for side, kind in errors.items())
                yield (update.texts["a"], update.texts["b"],
                       f"**{status}**" + (f" ({failed})" if failed else "")
                       + f" · battle {update.battle_id}")
            else:
                yield update.texts["a"], update.texts["b"], "answering…"

    refresh.click(refreshed, None, [table, paused, model_a, model_b])
    check.click(on_check, None, notice)
    unpause.click(on_unpause, paused, [notice, table])
    reload.click(on_reload, None, [notice, table, paused, model_a, model_b])
    run.click(on_trial, [model_a, model_b, prompt], [answer_a, answer_b, outcome],
              concurrency_limit=4)
    return refreshed, [table, paused, model_a, model_b]
