"""``GET /api/export``: the owner's vote export for scripts, behind the admin token.

Send the token as ``Authorization: Bearer <token>`` or ``X-Admin-Token: <token>``.
Without it, with a wrong one, or when no token is configured: 401 and a body
that says nothing about the data. The file streams in batches as it is written
(parquet too), so neither the server nor the client holds it whole.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from arena.api.deps import require_admin
from arena.context import Arena
from arena.formats.vote_writers import MEDIA_TYPES
from arena.services.export import ExportRequest, stream_export
from arena.times import parse_time

export_router = APIRouter()
TIME_HELP = "ISO 8601 date/time (naive = UTC) or unix seconds"


def _read_time(name: str) -> BeforeValidator:
    """Read a query time with arena.times: a bad one is a 422 naming the parameter."""
    return BeforeValidator(lambda value: parse_time(value, name))


@export_router.get("/api/export", response_class=StreamingResponse)
def export_votes(
    arena: Annotated[Arena, Depends(require_admin)],
    format: Literal["jsonl", "json", "csv", "parquet"] = "jsonl",
    since: Annotated[datetime | None, _read_time("since"),
                     Query(description=f"Votes cast at or after: {TIME_HELP}.")] = None,
    until: Annotated[datetime | None, _read_time("until"),
                     Query(description=f"Votes cast before: {TIME_HELP}.")] = None,
    anony_only: bool = False,
    model: Annotated[list[str] | None, Query()] = None,
    category: str | None = None,
    include_conversations: bool = True,
    include_flagged: bool = False,
    include_imported: bool = True,
    source: str | None = None,
    drop_live_prompts: bool = False,
    include_too_fast: bool = False,
    include_suspicious: bool = False,
    include_seen_named: bool = False,
) -> StreamingResponse:
    """Votes as clean_battle records (schema in the README); judges pseudonymous, no IPs."""
    request = ExportRequest.of(
        format, since=since, until=until, anony_only=anony_only, models=model,
        category=category, include_conversations=include_conversations,
        include_flagged=include_flagged, include_imported=include_imported, source=source,
        drop_live_prompts=drop_live_prompts, include_too_fast=include_too_fast,
        include_suspicious=include_suspicious, include_seen_named=include_seen_named,
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        stream_export(arena, request),  # a sync generator: run in the threadpool
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="votes-{stamp}.{format}"'},
    )
