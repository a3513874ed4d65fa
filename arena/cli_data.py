"""``arena export votes`` and ``arena import votes``: vote datasets in and out.

Exit codes: 0 done, 1 the file or the data was refused (nothing imported; the
message names file and line), 2 bad options or configuration.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from arena.cli_common import (
    ConfigOption,
    SinceOption,
    UntilOption,
    fail,
    open_arena,
    settings_or_exit,
)


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    parquet = "parquet"


class ImportFormat(StrEnum):
    auto = "auto"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    parquet = "parquet"


def export_votes(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.jsonl,
    since: SinceOption = None,
    until: UntilOption = None,
    anony_only: Annotated[bool, typer.Option("--anony-only", help="Anonymous battles only.")]
    = False,
    model: Annotated[list[str] | None, typer.Option(
        "--model", help="Votes involving this model (repeatable).")] = None,
    category: Annotated[str | None, typer.Option(help="Only this prompt category.")] = None,
    include_conversations: Annotated[bool, typer.Option(
        "--include-conversations/--no-conversations", help="Include both conversations.")]
    = True,
    include_flagged: Annotated[bool, typer.Option(
        "--include-flagged", help="Include flagged and identity-leaking battles.")] = False,
    include_too_fast: Annotated[bool, typer.Option(
        "--include-too-fast", help="Include votes cast sooner than a person reads.")] = False,
    include_suspicious: Annotated[bool, typer.Option(
        "--include-suspicious", help="Include votes the audit filtered and votes of "
                                     "flagged voters.")] = False,
    include_seen_named: Annotated[bool, typer.Option(
        "--include-seen-named", help="Include anonymous votes on a prompt and model the "
                                     "voter had seen named.")] = False,
    imported: Annotated[bool, typer.Option(
        "--imported/--no-imported", help="Include votes imported from datasets.")] = True,
    source: Annotated[str | None, typer.Option(
        help="Only votes imported from this dataset.")] = None,
    drop_live_prompts: Annotated[bool, typer.Option(
        "--drop-live-prompts", help="Blank what voters typed in live battles.")] = False,
    config: ConfigOption = None,
) -> None:
    """Export votes as FastChat clean_battle records (no IPs; judges pseudonymous)."""
    from arena.services.export import ExportRequest, count_votes
    from arena.services.export_parallel import write_export

    request = ExportRequest.of(
        fmt.value, since=since, until=until, anony_only=anony_only, models=model,
        category=category, include_conversations=include_conversations,
        include_flagged=include_flagged, include_imported=imported, source=source,
        drop_live_prompts=drop_live_prompts, include_too_fast=include_too_fast,
        include_suspicious=include_suspicious, include_seen_named=include_seen_named,
    )
    arena = open_arena(config)
    partial = out.with_name(f".{out.name}.partial")
    try:
        total = 0
        if _shows_progress():  # counting reads every vote once more: only for the bar
            with arena.session() as session:
                total = count_votes(session, request.filters)
        with partial.open("wb") as handle, _progress(total) as bar, _no_cycle_collection():
            written = write_export(arena, handle, request, on_batch=bar.update)
        os.replace(partial, out)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror}") from exc
    finally:
        partial.unlink(missing_ok=True)
        arena.close()
    typer.echo(f"exported {written} votes to {out} ({fmt.value})")


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Exports and imports make millions of short-lived objects (rows, records) without
    cycles: reference counting frees them, the cycle collector would only walk them
    again and again (a fifth of an import's time). On again afterwards."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _shows_progress() -> bool:
    return sys.stderr.isatty()


def _progress(total: int) -> Any:
    """A progress bar on stderr when it is a terminal; silent otherwise."""
    return typer.progressbar(length=total, label="exporting votes", file=sys.stderr,
                             hidden=not _shows_progress(), show_pos=True)


def import_votes(
    path: Annotated[Path, typer.Argument(help="clean_battle JSON/JSONL, CSV or Parquet file.")],
    source: Annotated[str | None, typer.Option(
        help="Dataset name stored with each vote (default: the file name).")] = None,
    fmt: Annotated[ImportFormat, typer.Option("--format", "-f")] = ImportFormat.auto,
    config: ConfigOption = None,
) -> None:
    """Import a vote dataset in one transaction; duplicates are skipped and counted."""
    from arena import services
    from arena.formats.jsonl import FormatError
    from arena.services.vote_import import UnstorableVote
    from arena.services.vote_import_reader import import_vote_file

    settings_or_exit(config)  # a bad config is reported before the file is read
    if not path.is_file():
        raise fail(f"{path}: no such file (nothing imported)")
    name = source or path.stem
    arena = open_arena(config)
    salt = arena.salt  # before the session: on SQLite each transaction holds the lock
    try:
        with arena.session() as session, _no_cycle_collection():
            summary = import_vote_file(session, path, fmt.value, source=name, salt=salt)
    except UnstorableVote as exc:
        raise fail(f"{path}:{exc.line}: {exc.reason} (nothing imported)") from exc
    except (FormatError, services.ServiceError) as exc:
        raise fail(f"{exc} (nothing imported)") from exc
    finally:
        arena.close()
    typer.echo(f"imported {summary.imported} votes from {path} as source {name!r} "
               f"({len(summary.models)} models); {summary.duplicates} duplicates skipped")
    if summary.self_play_lines:
        lines = ", ".join(map(str, summary.self_play_lines[:10]))
        typer.echo(f"skipped {len(summary.self_play_lines)} votes of a model against itself "
                   f"(line {lines})", err=True)


def register(app: typer.Typer, import_app: typer.Typer) -> None:
    """Add ``export votes`` and ``import votes`` to the ``arena`` command."""
    export_app = typer.Typer(no_args_is_help=True, help="Export data.")
    export_app.command("votes")(export_votes)
    app.add_typer(export_app, name="export")
    import_app.command("votes")(import_votes)
