"""``GET /api/export``: the owner's vote export for scripts, behind the admin token.

Send the token as ``Authorization: Bearer <token>`` or ``X-Admin-Token: <token>``.
Without it, with a wrong one, or when no token is configured: 401 and a body
that says nothing about the data. The file streams in batches as it is written
(parquet too), so neither the server nor the client holds it whole.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from arena.api.deps import get_arena
from arena.context import Arena
from arena.formats.vote_writers import MEDIA_TYPES, ChunkSink, open_writer
from arena.services.export import ExportFilters, ExportOptions, iter_record_batches

export_router = APIRouter()


def require_admin(request: Request) -> Arena:
    arena = get_arena(request)
    expected = arena.settings.admin.token
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    given = given or request.headers.get("x-admin-token", "")
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="admin token required",
                            headers={"WWW-Authenticate": "Bearer"})
    return arena


@export_router.get("/api/export", response_class=StreamingResponse)
def export_votes(
    arena: Annotated[Arena, Depends(require_admin)],
    format: Literal["jsonl", "json", "csv", "parquet"] = "jsonl",
    since: datetime | None = None,
    until: datetime | None = None,
    anony_only: bool = False,
    model: Annotated[list[str] | None, Query()] = None,
    category: str | None = None,
    include_conversations: bool = True,
    include_flagged: bool = False,
    include_imported: bool = True,
    source: str | None = None,
    drop_live_prompts: bool = False,
) -> StreamingResponse:
    """Votes as clean_battle records (schema in the README); judges pseudonymous, no IPs."""
    filters = ExportFilters(
        since=_utc(since), until=_utc(until), anony_only=anony_only,
        models=tuple(model or ()), category=category, include_flagged=include_flagged,
        include_imported=include_imported, source=source,
    )
    options = ExportOptions(include_conversations=include_conversations,
                            drop_live_prompts=drop_live_prompts)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        _stream(arena, format, filters, options),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="votes-{stamp}.{format}"'},
    )


def _stream(arena: Arena, fmt: str, filters: ExportFilters,
            options: ExportOptions) -> Iterator[bytes]:
    """Sync generator (run in the threadpool) with its own session for the whole stream."""
    salt = arena.salt
    sink = ChunkSink()
    writer = open_writer(fmt, sink, include_conversations=options.include_conversations)
    with arena.session() as session:
        for batch in iter_record_batches(session, salt=salt, filters=filters, options=options):
            writer.write_batch(batch)
            chunk = sink.take()
            if chunk:
                yield chunk
    writer.close()
    yield sink.take()


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
