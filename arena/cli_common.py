"""What every ``arena`` sub-command shares: the config option, settings, errors, times.

``cli.py`` and the command modules (``cli_data``, ``cli_models``, ``cli_ratings``)
import from here and never from each other; ``cli.py`` only registers them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from arena.config import ConfigError, Settings, load_settings
from arena.times import TimeValueError, parse_time

if TYPE_CHECKING:
    from sqlmodel import Session

    from arena.context import Arena

T = TypeVar("T")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c",
                 help="TOML config file (default: config/arena.toml if present)."),
]


def settings_or_exit(config: Path | None, **overrides: object) -> Settings:
    """The settings, or exit 2 naming the bad key."""
    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def open_arena(config: Path | None) -> Arena:
    """The configured arena: exit 2 on a bad configuration, 1 when the database is
    missing or not migrated (commands other than `db upgrade` and `serve` never migrate)."""
    from arena.context import Arena
    from arena.db import DatabaseNotReady

    try:
        return Arena.open(settings_or_exit(config))
    except DatabaseNotReady as exc:
        raise fail(str(exc)) from exc


def in_session(config: Path | None, action: Callable[[Session], T]) -> T:
    """Run one service call in a session of the configured arena; a ServiceError is
    printed and exits 1."""
    from arena.services.errors import ServiceError

    arena = open_arena(config)
    with arena.session() as session:
        try:
            return action(session)
        except ServiceError as exc:
            raise fail(str(exc)) from exc


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned exit (code 1)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _cli_time(value: str) -> datetime | None:
    try:
        return parse_time(value)
    except TimeValueError as exc:  # click names the option: "Invalid value for '--since'"
        raise typer.BadParameter(str(exc)) from exc


_TIME_FORMS = "ISO 8601 date/time (naive = UTC) or unix seconds"
SinceOption = Annotated[datetime | None, typer.Option(
    "--since", parser=_cli_time, metavar="TIME", help=f"Votes cast at or after: {_TIME_FORMS}.")]
UntilOption = Annotated[datetime | None, typer.Option(
    "--until", parser=_cli_time, metavar="TIME", help=f"Votes cast before: {_TIME_FORMS}.")]
