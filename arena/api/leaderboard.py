"""GET /api/leaderboard: the live leaderboard of one view as JSON.

The body is a list of rows with the keys of ``arena ratings --format json``
(model, rating, lower, upper, rank, rank_ub, votes, win_rate, component) plus
organization and license; models under ``battle.leaderboard_min_votes`` are
left out.  Query: category, language (en|zh|other), turns (single|multi),
style_control, anony_only (default true), include_flagged, include_too_fast,
include_suspicious, include_seen_named (default false), include_imported (default true): which votes
count is arena.services.counting; dedup_prompts (default true): live prompts repeated far
more than usual weigh less (arena.services.leaderboard.dedup_weights).  An unknown category
gives an empty list; judge=NAME: that judge's board (its verdicts only) instead of people's.
include_copilot (default true): votes cast after reading the Judge Copilot;
baseline=MODEL adds each model's predicted win rate against that model
(win_rate_vs_baseline); control=category|language|turns (repeatable): battle attributes
as group covariates in the contextual fit, as OpenCompass's ``groups``.
GET /api/leaderboard/controls (same query): the fit's style and group coefficients.
The public board (no query) adds bootstrap_lower/upper and bootstrap_age_s once the
scheduled bootstrap (battle.bootstrap_minutes) has run in this process.
GET /api/leaderboard/exposure: how battles were sampled;
GET /api/leaderboard/agreement?judge=NAME: how far the judge agrees with people.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from arena.api.deps import get_arena, get_read_session
from arena.context import Arena
from arena.services.agreement import judge_agreement
from arena.services.errors import InvalidInput, NotFound
from arena.services.leaderboard import View, board_coefficients, win_rates_vs
from arena.times import TimeValueError, parse_time

router = APIRouter()


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()}


def board_view(
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
    include_copilot: bool = True,
    dedup_prompts: bool = True,
    judge: Annotated[str | None, Query(max_length=200)] = None,
    control: Annotated[list[Literal["category", "language", "turns"]] | None,
                       Query(max_length=3)] = None,
) -> View:
    """The board's view from the query (shared by the board and its coefficients)."""
    if judge is not None:
        _known_judge(arena, judge)
    controls = tuple(control or ())
    if len(set(controls)) != len(controls):
        raise InvalidInput("control: each of category, language, turns at most once")
    return View(category=category or None, language=language, turns=turns, judge=judge,
                style_control=style_control, anony_only=anony_only,
                include_flagged=include_flagged, include_imported=include_imported,
                include_too_fast=include_too_fast, include_suspicious=include_suspicious,
                include_seen_named=include_seen_named, include_copilot=include_copilot,
                dedup_prompts=dedup_prompts, controls=controls)


@router.get("/api/leaderboard")
def leaderboard(
    arena: Annotated[Arena, Depends(get_arena)],
    view: Annotated[View, Depends(board_view)],
    baseline: Annotated[str | None, Query(max_length=200)] = None,
) -> list[dict[str, Any]]:
    board = arena.leaderboard.board(view)
    rows = [_clean(row.as_dict()) for row in board.rows]
    latest = arena.bootstrap.latest if view == View() else None
    if latest is not None:  # the public board's scheduled bootstrap, with its age
        age = round(latest.age_seconds(), 1)
        for row in rows:
            lower, upper = latest.bounds.get(row["model"], (None, None))
            row.update(bootstrap_lower=lower, bootstrap_upper=upper, bootstrap_age_s=age)
    if baseline is not None:
        try:
            chances = win_rates_vs(board, baseline)
        except KeyError:
            raise NotFound(f"baseline {baseline!r} is not on this board") from None
        for row in rows:
            row["win_rate_vs_baseline"] = chances[row["model"]]
    return rows


@router.get("/api/leaderboard/controls")
def controls(
    arena: Annotated[Arena, Depends(get_arena)],
    view: Annotated[View, Depends(board_view)],
) -> dict[str, Any]:
    """The contextual fit's coefficients of the same view (style_control and/or control=):
    each as a logit, its interval, and as an odds ratio (arena.services.leaderboard)."""
    board = arena.leaderboard.board(view)
    return {"battles": board.total_votes, "error": board.error,
            "coefficients": [_clean(c) for c in board_coefficients(board)]}


@router.get("/api/leaderboard/exposure")
def exposure(
    arena: Annotated[Arena, Depends(get_arena)],
    session: Annotated[Session, Depends(get_read_session)],
    since: Annotated[str | None, Query(max_length=64)] = None,
    until: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Each model's share of anonymous battles shown and of votes in [since, until), next
    to the share the pair policy intended (arena.services.exposure_report). Times: ISO
    8601 or unix seconds, taken to the minute; default: all time. At most 30 s old."""
    try:
        start, end = parse_time(since, "since"), parse_time(until, "until")
    except TimeValueError as exc:
        raise InvalidInput(str(exc)) from exc
    return arena.exposure.report(session, since=start, until=end).as_dict()


def _known_judge(arena: Arena, judge: str) -> None:
    if judge not in {j.name for j in arena.settings.judges}:
        raise NotFound(f"no judge named {judge!r} in this arena's [[judges]]")


@router.get("/api/leaderboard/agreement")
def agreement(
    arena: Annotated[Arena, Depends(get_arena)],
    session: Annotated[Session, Depends(get_read_session)],
    judge: Annotated[str, Query(max_length=200)],
) -> dict[str, Any]:
    """The judge's board beside the people's: rank correlations, separability, verdict
    agreement on battles both judged, position bias (arena.services.agreement)."""
    _known_judge(arena, judge)
    return judge_agreement(session, arena.leaderboard, judge).as_dict()
