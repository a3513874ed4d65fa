"""Exporting from and importing into a test arena through the services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from arena.context import Arena
from arena.formats.votes import LOCAL_FIELDS, iter_raw_records, iter_votes
from arena.services.export import ExportFilters, ExportOptions, write_votes
from arena.services.vote_import import VoteImportSummary, import_votes

EVERYTHING = ExportFilters(include_flagged=True, include_seen_named=True)
DEFAULT_OPTIONS = ExportOptions()


def export_to(arena: Arena, path: Path, fmt: str, filters: ExportFilters = EVERYTHING,
              options: ExportOptions = DEFAULT_OPTIONS, batch_size: int = 7) -> int:
    salt = arena.salt
    with arena.session() as session, path.open("wb") as handle:
        return write_votes(session, handle, salt=salt, fmt=fmt, filters=filters,
                           options=options, batch_size=batch_size)


def import_from(arena: Arena, path: Path, *, source: str = "dataset",
                fmt: str = "auto") -> VoteImportSummary:
    salt = arena.salt
    with arena.session() as session:
        return import_votes(session, iter_votes(path, fmt), source=source, salt=salt,
                            batch_size=5)


def read_records(path: Path, fmt: str = "auto") -> list[dict[str, Any]]:
    return [record for _, record in iter_raw_records(path, fmt)]


def without_local(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in LOCAL_FIELDS} for r in records]
