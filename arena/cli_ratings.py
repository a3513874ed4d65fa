"""``arena ratings``: compute a leaderboard from a clean_battle file or the app database.

``register(app)`` adds the command to the project's Typer app.  Exit codes:
0 success, 2 bad input or options (the message names file and line), 1 the
model cannot be fitted (e.g. the maximum-likelihood estimate does not exist).
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from arena.cli_common import SinceOption, UntilOption, settings_or_exit
from ratings import (
    DEFAULT_OUTCOME_MAP,
    DROP_BOTHBAD_OUTCOME_MAP,
    SKLEARN_C1_L2,
    Battles,
    Leaderboard,
    RatingsFitError,
    RatingsInputError,
    RatingsWarning,
    battles_from_records,
    compute_leaderboard,
    read_battle_file,
)
from ratings.style import STYLE_FEATURES, record_style_features

FIELDS = ("rank", "rank_ub", "model", "rating", "lower", "upper", "votes", "win_rate", "component")


class Ci(StrEnum):
    sandwich = "sandwich"
    bootstrap = "bootstrap"


class Ties(StrEnum):
    half = "half"
    drop = "drop"
    rao_kupper = "rao-kupper"
    davidson = "davidson"


class Bothbad(StrEnum):
    tie = "tie"
    drop = "drop"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def parse_anchor(value: str | None) -> tuple[str, float] | None:
    """Parse ``MODEL=RATING``."""
    if value is None:
        return None
    model, sep, rating = value.rpartition("=")
    try:
        number = float(rating)
    except ValueError:
        number = math.nan
    if not sep or not model or not math.isfinite(number):
        raise typer.BadParameter(f"expected MODEL=RATING, got {value!r}", param_hint="--anchor")
    return model, number


def render(board: Leaderboard, fmt: Format) -> str:
    """The leaderboard as a table, a JSON list of objects, or CSV."""
    rows = board.to_records()
    if fmt is Format.json:
        return json.dumps(rows, indent=2)
    if fmt is Format.csv:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r[k] for k in FIELDS})
        return buf.getvalue().rstrip("\n")
    width = max([len("model"), *(len(r["model"]) for r in rows)])
    lines = [
        f"{'rank':>4} {'ub':>4}  {'model':<{width}}  {'rating':>8} {'lower':>8} {'upper':>8} "
        f"{'votes':>7} {'win%':>6}"
    ]
    for r in rows:
        lines.append(
            f"{r['rank']:>4} {r['rank_ub']:>4}  {r['model']:<{width}}  "
            f"{r['rating']:>8.1f} {r['lower']:>8.1f} "
            f"{r['upper']:>8.1f} {r['votes']:>7} {100 * r['win_rate']:>6.1f}"
        )
    lines.append(
        f"{board.n_battles} battles, {board.ci} {board.level:.0%} intervals, ties={board.ties}"
    )
    for name, coef in board.style_coefficients.items():
        kind = "control" if "=" in name else "style"
        lines.append(
            f"{kind} {name}: {coef:+.4f} "
            f"[{board.style_lower[name]:+.4f}, {board.style_upper[name]:+.4f}] "
            f"odds ratio {math.exp(coef):.3f}"
        )
    if board.tie_parameter is not None:
        lines.append(f"tie parameter (kappa): {board.tie_parameter:.4f}")
    return "\n".join(lines)


# The record fields that mark a vote the live board leaves out (arena.services.counting).
FLAG_FIELDS = ("flagged", "identity_leak", "too_fast", "suspicious", "seen_named")


def database_battles(
    config: Path | None, *, anony_only: bool, style_control: bool, drop_bothbad: bool,
    since: datetime | None, until: datetime | None, include_flagged: bool = False,
    judge: str | None = None, controls: tuple[str, ...] = (),
) -> Battles:
    """The votes of the configured database that the live board counts
    (arena.services.counting: flagged, too fast and suspicious left out)."""
    from arena.context import Arena
    from arena.db import DatabaseNotReady
    from arena.services.leaderboard import View, view_battles, view_mask

    settings = settings_or_exit(config)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise RatingsInputError(
            f"no database at {url.database} (pass --input FILE to rate a battle file)")
    try:
        arena = Arena.open(settings)  # reads only; `arena db upgrade` migrates
    except DatabaseNotReady as exc:
        raise RatingsInputError(f"{exc} (or pass --input FILE)") from exc
    try:
        snap = arena.leaderboard.store.sync()
    except SQLAlchemyError as exc:
        raise RatingsInputError(
            f"cannot read votes from the database ({type(exc).__name__}); "
            "run `arena db upgrade` or pass --input FILE") from exc
    finally:
        arena.close()
    view = View(anony_only=anony_only, style_control=style_control,
                include_flagged=include_flagged, include_too_fast=include_flagged,
                include_suspicious=include_flagged, include_seen_named=include_flagged,
                judge=judge, controls=controls)
    mask = view_mask(snap, view)
    if drop_bothbad:
        mask &= ~snap.cols["bothbad"]
    if since is not None:
        mask &= snap.cols["ts"] >= since.timestamp()
    if until is not None:
        mask &= snap.cols["ts"] < until.timestamp()
    battles = view_battles(snap, view, mask,
                           dedup_threshold=settings.battle.prompt_dedup_threshold)
    if battles is None:
        raise RatingsInputError("no votes to rate in the database (or pass --input FILE)")
    return battles


class RecordGroups:
    """Group covariates of a battle file: one 0/1 column per value of each control field
    (missing: "-"), after the style features; the first control keeps every level, later
    ones drop their most common level (the columns of each sum to one per battle)."""

    def __init__(self, records: list[dict[str, Any]], controls: tuple[str, ...]) -> None:
        self.controls = controls
        self.levels = [sorted({self.value(rec, key) for rec in records}) for key in controls]

    @staticmethod
    def value(record: dict[str, Any], key: str) -> str:
        found = record.get(key)
        return "-" if found is None or found == "" else str(found)

    def names(self, style: bool) -> tuple[str, ...]:
        groups = tuple(f"{key}={level}" for key, levels in zip(self.controls, self.levels,
                                                                strict=True) for level in levels)
        return (STYLE_FEATURES if style else ()) + groups

    def feature_fn(self, style: bool) -> Any:
        def features(record: dict[str, Any]) -> list[float]:
            row = record_style_features(record) if style else []
            for key, levels in zip(self.controls, self.levels, strict=True):
                value = self.value(record, key)
                row += [1.0 if value == level else 0.0 for level in levels]
            return row
        return features

    def finish(self, battles: Battles) -> Battles:
        if not self.controls or battles.features is None:
            return battles
        k = battles.features.shape[1] - sum(len(levels) for levels in self.levels)
        keep, start = list(range(k)), k
        for number, levels in enumerate(self.levels):
            block = battles.features[:, start:start + len(levels)].sum(axis=0)
            present = [start + j for j in range(len(levels)) if block[j] > 0]
            if number > 0 and present:
                present.remove(start + int(block.argmax()))
            keep += present
            start += len(levels)
        return replace(battles, features=battles.features[:, keep],
                       feature_names=tuple(battles.feature_names[j] for j in keep),
                       indicator_features=len(keep) - k)


def ratings_command(
    input: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="clean_battle JSON array or JSONL file "
                     "(default: the votes in the configured database)"),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML config file (without --input)")
    ] = None,
    ci: Annotated[Ci, typer.Option(help="interval method")] = Ci.sandwich,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=1, help="bootstrap rounds")] = 100,
    ties: Annotated[Ties, typer.Option(help="tie handling")] = Ties.half,
    bothbad: Annotated[
        Bothbad, typer.Option(help="treat 'tie (bothbad)' as a tie or drop it")
    ] = Bothbad.tie,
    style_control: Annotated[
        bool, typer.Option("--style-control", help="contextual BT with style features")
    ] = False,
    anchor: Annotated[str | None, typer.Option(help="MODEL=RATING pins one model's rating")] = None,
    l2: Annotated[
        float, typer.Option(min=0.0, help="L2 prior precision on natural-log strengths "
                            "(default: the live board's, FastChat's C=1)")
    ] = SKLEARN_C1_L2,
    level: Annotated[float, typer.Option(min=0.0, max=1.0, help="confidence level")] = 0.95,
    reweight: Annotated[
        bool, typer.Option("--reweight", help="inverse pair-frequency weights")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="output format")] = Format.table,
    anony_only: Annotated[
        bool, typer.Option("--anony-only/--include-named",
                           help="only anonymous battles (the live board's default)")
    ] = True,
    include_flagged: Annotated[
        bool, typer.Option("--include-flagged", help="count flagged, identity-leak, too-fast, "
                           "suspicious and seen-named votes too (left out by default, as on "
                           "the board)")
    ] = False,
    since: SinceOption = None,
    until: UntilOption = None,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
    control: Annotated[list[str] | None, typer.Option(
        "--control", help="a battle attribute to control for, one-hot in the contextual fit "
                          "(repeatable; database: category, language, turns; file: any "
                          "record field); its coefficients print as odds ratios")] = None,
    votes_source: Annotated[str, typer.Option(
        "--source", help="whose votes, from the database: 'people' (the board's) or "
                         "judge:NAME (an LLM judge's verdicts, arena judge run)")] = "people",
) -> None:
    """Compute Bradley-Terry ratings with confidence intervals from battle votes."""
    pinned = parse_anchor(anchor)
    outcome_map = DEFAULT_OUTCOME_MAP if bothbad is Bothbad.tie else DROP_BOTHBAD_OUTCOME_MAP
    source = str(input) if input is not None else "database"
    controls = tuple(control or ())
    contextual = style_control or bool(controls)
    try:
        if input is None:
            if votes_source != "people" and not votes_source.startswith("judge:"):
                raise RatingsInputError(f"--source {votes_source!r}: use people or judge:NAME")
            battles = database_battles(
                config, anony_only=anony_only, style_control=style_control,
                drop_bothbad=bothbad is Bothbad.drop, since=since, until=until,
                include_flagged=include_flagged, controls=controls,
                judge=votes_source.removeprefix("judge:") if votes_source != "people" else None,
            )  # fmt: skip
        else:
            records, lines = read_battle_file(input)
            groups = RecordGroups(records, controls)
            battles = battles_from_records(
                records,
                lines=lines,
                source=str(input),
                outcome_map=outcome_map,
                anony_only=anony_only,
                since=since,
                until=until,
                feature_fn=groups.feature_fn(style_control) if contextual else None,
                feature_names=groups.names(style_control),
                skip_flags=() if include_flagged else FLAG_FIELDS,
            )
            battles = groups.finish(battles)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RatingsWarning)
            board = compute_leaderboard(
                battles,
                ci=ci.value,
                bootstrap_rounds=bootstrap,
                ties=ties.value,
                style_control=contextual,  # type: ignore[arg-type]
                anchor=pinned,
                l2=l2,
                level=level,
                seed=seed,
                reweight=reweight,
            )
    except RatingsInputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except RatingsFitError as exc:
        typer.echo(f"error: {source}: {exc}", err=True)
        raise typer.Exit(1) from exc
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for note in board.warnings:
        typer.echo(f"warning: {note}", err=True)
    typer.echo(render(board, fmt))
    if input is None and votes_source.startswith("judge:") and fmt is Format.table:
        typer.echo(judge_agreement_text(config, votes_source.removeprefix("judge:")))


def judge_agreement_text(config: Path | None, judge: str) -> str:
    """The judge's agreement with people (GET /api/leaderboard/agreement's numbers)."""
    from arena.context import Arena
    from arena.services.agreement import judge_agreement

    arena = Arena.open(settings_or_exit(config))
    try:
        with arena.read_session() as session:
            found = judge_agreement(session, arena.leaderboard, judge)
    finally:
        arena.close()

    def show(value: float | None, share: bool = True) -> str:
        if value is None:
            return "-"
        return f"{value:.1%}" if share else f"{value:.3f}"

    return "\n".join([
        f"\nagreement of judge {judge} with people ({found.models} models on both boards):",
        f"  Spearman {show(found.spearman, False)}, Kendall tau-b {show(found.kendall, False)}",
        f"  separability: people {show(found.human_separability)}, "
        f"judge {show(found.judge_separability)}",
        f"  verdicts on {found.battles} battles judged by both: {show(found.agreement)} agree "
        f"(ties as a verdict), {show(found.agreement_without_ties)} without ties "
        f"({found.decided} battles)",
        f"  position bias {show(found.position_bias)} over {found.both_orders} items in both "
        f"orders; {found.judge_unreadable} unreadable verdicts",
    ])


def register(app: typer.Typer) -> None:
    """Add the ``ratings`` command to ``app``."""
    app.command("ratings")(ratings_command)


__all__ = ["register", "render", "parse_anchor", "ratings_command"]
