"""The owner's *Data* page (mounted at /admin behind the admin token by arena.app).

Export buttons write the file to a temporary directory in batches and hand it
to the browser as a download (nothing is built in memory); below them, votes
per day and the last votes (pseudonymous judges, no conversations, no IPs).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr

from arena.context import Arena
from arena.formats.votes import FORMATS
from arena.services.export import (
    ExportFilters,
    ExportRequest,
    count_votes,
    last_votes,
    votes_per_day,
)
from arena.services.export_parallel import write_export
from arena.times import TimeValueError
from arena.ui.admin_models import build_live_models_tab
from arena.ui.admin_voters import build_voters_tab

EXPORT_DIR = Path(tempfile.gettempdir()) / "arena-exports"
KEEP_EXPORTS_SECONDS = 3600
PREVIEW_COLUMNS = ("time (UTC)", "model_a", "model_b", "winner", "anony", "mode", "source",
                   "judge")
TIME_HINT = "2026-01-31, 2026-01-31T12:00+02:00 or unix seconds; empty: no bound"


def export_file(arena: Arena, fmt: str, *, since: str | None = None,
                until: str | None = None, anony_only: bool = False,
                include_conversations: bool = True, include_flagged: bool = False,
                include_imported: bool = True, drop_live_prompts: bool = False) -> Path:
    """Write an export to a fresh temporary file and return its path.

    A bad *since*/*until* raises ``arena.times.TimeValueError`` before any file exists.
    """
    request = ExportRequest.of(
        fmt, since=since, until=until, anony_only=anony_only,
        include_conversations=include_conversations, include_flagged=include_flagged,
        include_imported=include_imported, drop_live_prompts=drop_live_prompts)
    EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    _prune_old_exports()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    handle = tempfile.NamedTemporaryFile(
        dir=EXPORT_DIR, prefix=f"votes-{stamp}-", suffix=f".{fmt}", delete=False)
    try:
        with handle:
            write_export(arena, handle, request)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return Path(handle.name)


def _prune_old_exports() -> None:
    cutoff = time.time() - KEEP_EXPORTS_SECONDS
    for old in EXPORT_DIR.glob("votes-*"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)


def overview(arena: Arena) -> tuple[str, list[list[Any]], list[list[Any]]]:
    """Totals line, votes per day (newest first) and the last votes."""
    salt = arena.salt
    with arena.session() as session:
        total = count_votes(session, ExportFilters(include_flagged=True))
        kept = count_votes(session)
        per_day = votes_per_day(session, days=30)
        recent = last_votes(session, salt=salt, limit=20)
    summary = (f"**{total}** votes stored; **{kept}** exported by default "
               f"(flagged and identity-leak battles left out).")
    days = [[day.isoformat(), count] for day, count in reversed(per_day)]
    rows = [[datetime.fromtimestamp(r["tstamp"], UTC).strftime("%Y-%m-%d %H:%M:%S"),
             r["model_a"], r["model_b"], r["winner"], r["anony"], r["mode"], r["source"] or "",
             r["judge"]] for r in recent]
    return summary, days, rows


def build_admin_blocks(arena: Arena) -> gr.Blocks:
    with gr.Blocks(title=f"{arena.settings.server.title} · Owner") as blocks:
        with gr.Tab("Data", elem_id="admin-tab-data"):
            _data_tab(arena, blocks)
        with gr.Tab("Live models", elem_id="admin-tab-models"):
            fill_models, model_outputs = build_live_models_tab(arena)
        with gr.Tab("Voters", elem_id="admin-tab-voters"):
            fill_voters, voter_outputs = build_voters_tab(arena)
        blocks.load(fill_models, None, model_outputs)
        blocks.load(fill_voters, None, voter_outputs)
    return blocks


def _data_tab(arena: Arena, blocks: gr.Blocks) -> None:
    gr.Markdown("## Data\nExport the votes as FastChat clean_battle records "
                "(JSONL, JSON, CSV or Parquet). Judges are pseudonymous; no IPs.",
                elem_id="admin-title")
    with gr.Row():
        fmt = gr.Dropdown(list(FORMATS), value="jsonl", label="Format",
                          elem_id="admin-export-format")
        anony_only = gr.Checkbox(False, label="Anonymous battles only",
                                 elem_id="admin-export-anony-only")
        conversations = gr.Checkbox(True, label="Include conversations",
                                    elem_id="admin-export-conversations")
        flagged = gr.Checkbox(False, label="Include flagged / identity-leak",
                              elem_id="admin-export-flagged")
        imported = gr.Checkbox(True, label="Include imported votes",
                               elem_id="admin-export-imported")
        drop_prompts = gr.Checkbox(False, label="Blank live-battle prompts",
                                   elem_id="admin-export-drop-live-prompts")
    with gr.Row():
        since = gr.Textbox(label="Since (vote time, inclusive)", placeholder=TIME_HINT,
                           elem_id="admin-export-since")
        until = gr.Textbox(label="Until (exclusive)", placeholder=TIME_HINT,
                           elem_id="admin-export-until")
    export_button = gr.Button("Export votes", variant="primary",
                              elem_id="admin-export-button")
    download = gr.File(label="Download", interactive=False, elem_id="admin-export-file")
    gr.Markdown("### Votes", elem_id="admin-votes-heading")
    totals = gr.Markdown(elem_id="admin-vote-totals")
    refresh = gr.Button("Refresh", size="sm", elem_id="admin-refresh")
    with gr.Row():
        per_day = gr.Dataframe(headers=["day (UTC)", "votes"], label="Votes per day",
                               interactive=False, elem_id="admin-votes-per-day")
        recent = gr.Dataframe(headers=list(PREVIEW_COLUMNS), label="Last votes",
                              interactive=False, elem_id="admin-last-votes", scale=3)

    def on_export(fmt_value: str, anony: bool, convs: bool, flag: bool, imp: bool,
                  drop: bool, start: str, end: str) -> str:
        try:
            return str(export_file(
                arena, fmt_value, since=start.strip() or None, until=end.strip() or None,
                anony_only=anony, include_conversations=convs, include_flagged=flag,
                include_imported=imp, drop_live_prompts=drop))
        except TimeValueError as exc:
            raise gr.Error(str(exc)) from exc

    export_button.click(
        on_export,
        [fmt, anony_only, conversations, flagged, imported, drop_prompts, since, until],
        download, concurrency_limit=2,
    )
    refresh.click(lambda: overview(arena), None, [totals, per_day, recent])
    blocks.load(lambda: overview(arena), None, [totals, per_day, recent])
