"""GET /api/leaderboard: the live leaderboard of one view as JSON.

The body is a list of rows with the keys of ``arena ratings --format json``
(model, rating, lower, upper, rank, rank_ub, votes, win_rate, component) plus
organization and license; models under ``battle.leaderboard_min_votes`` are
left out.  Query: category, language (en|zh|other), turns (single|multi),
style_control, anony_only (default true), include_flagged, include_too_fast,
include_suspicious, include_seen_named (default false), include_imported (default true): which votes
count is arena.services.counting.  An unknown category gives an empty list.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from arena.api.deps import get_arena
from arena.context import Arena
from arena.services.leaderboard import View

router = APIRouter()


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()}


@router.get("/api/leaderboard")
def leaderboard(
    arena: Annotated[Arena, Depends(get_arena)],
    category: Annotated[str | None, Query(max_length=100)] = None,
    language: Literal["en", "zh", "other"] | None = None,
    turns: Literal["single", "multi"] | None = None,
    style_control: bool = False,
    anony_only: bool = True,
    include_flagged: bool = False,
    include_imported: bool = True,
    include_too_fast: bool = False,
    include_suspicious: bool = False,
    include_seen_named: bool = False,
) -> list[dict[str, Any]]:
    view = View(category=category or None, language=language, turns=turns,
                style_control=style_control, anony_only=anony_only,
                include_flagged=include_flagged, include_imported=include_imported,
                include_too_fast=include_too_fast, include_suspicious=include_suspicious,
                include_seen_named=include_seen_named)
    return [_clean(row.as_dict()) for row in arena.leaderboard.board(view).rows]
