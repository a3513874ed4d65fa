"""The `arena` command: serve, migrate, import, inspect."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from arena import cli_data, cli_judge, cli_models, cli_ratings, cli_voters
from arena.cli_common import ConfigOption, fail, open_arena, settings_or_exit

if TYPE_CHECKING:
    from arena.context import Arena

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Arena: pairwise human evaluation of LLMs.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
import_app = typer.Typer(no_args_is_help=True, help="Import data.")
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    check_models: Annotated[bool, typer.Option(
        "--check-models", help="Check every live endpoint at start and log the result.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Migrate the database and serve the arena (UI at /, REST API at /api)."""
    import signal

    import uvicorn

    from arena.app import prepare, serving_app
    from arena.logs import configure_logging
    from arena.process_memory import fix_mmap_threshold, limit_malloc_arenas
    from arena.services.live_turn import api_key
    from arena.web.http_limits import uvicorn_options

    server = {key: value for key, value in (("host", host), ("port", port)) if value}
    settings = settings_or_exit(config)
    if server:
        settings = settings_or_exit(config, server=settings.server.model_dump() | server)
    limit_malloc_arenas(settings.server.malloc_arenas)  # before any thread starts
    fix_mmap_threshold(settings.server.malloc_mmap_threshold_kb)
    running: list[Arena] = []  # the live settings once serving (a reload may add keys)
    configure_logging(level=settings.server.log_level, json_lines=settings.server.log_json,
                      secrets=lambda: [api_key(m) for m in
                                       (running[0].settings if running else settings).models])
    arena = prepare(settings)
    running.append(arena)
    typer.echo(f"Arena on http://{settings.server.host}:{settings.server.port} "
               f"(database {arena.engine.url.render_as_string(hide_password=True)})")
    if check_models:
        _log_model_checks(arena)
    application = serving_app(arena)
    watcher = application.state.config_watcher
    signal.signal(signal.SIGHUP, lambda *_: watcher.poke())
    # proxy_headers off: X-Forwarded-* are believed only from `identity.trusted_proxies`,
    # by arena.services.voters, not by uvicorn's own rule.
    uvicorn.run(application, host=settings.server.host, port=settings.server.port,
                log_config=None, log_level=settings.server.log_level, proxy_headers=False,
                **uvicorn_options(settings.server))


def _log_model_checks(arena: Arena) -> None:
    import asyncio
    import logging

    from arena.providers.transport import EndpointClient
    from arena.services.live_check import check_models

    log = logging.getLogger("arena.live")

    async def run() -> list:
        client = EndpointClient()
        try:
            return await check_models(arena.settings, client=client)
        finally:
            await client.aclose()

    for result in asyncio.run(run()):
        (log.info if result.ok else log.warning)("check %s: %s", result.model, result.line())


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply pending migrations (safe to run while other processes start)."""
    from arena.db import current_revision, make_engine, upgrade

    settings = settings_or_exit(config)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    typer.echo(f"database at revision {current_revision(engine)}")


@import_app.command("answers")
def import_answers(
    path: Annotated[Path, typer.Argument(help="A JSONL file, or an MT-bench/Arena-Hard folder.")],
    name: Annotated[str | None, typer.Option(help="Answer set name (default from path).")] = None,
    config: ConfigOption = None,
) -> None:
    """Import an answer set: prompts with answers from several models."""
    from arena import services
    from arena.formats.answers import read_answer_set
    from arena.formats.jsonl import FormatError

    settings_or_exit(config)  # a bad config is reported before the file is read
    try:
        parsed = read_answer_set(path, name=name)
    except FormatError as exc:
        raise fail(f"{exc} (nothing imported)") from exc
    arena = open_arena(config)
    with arena.session() as session:
        try:
            summary = services.import_answer_set(session, parsed)
        except services.ServiceError as exc:
            raise fail(f"{exc} (nothing imported)") from exc
    typer.echo(f"imported answer set {summary.name!r} ({summary.source_format}): "
               f"{summary.questions} questions, {summary.models} models, "
               f"{summary.answers} answers")


app.add_typer(cli_models.app, name="models")
app.add_typer(cli_judge.app, name="judge")
cli_ratings.register(app)
cli_data.register(app, import_app)
cli_voters.register(app)


def main() -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    app()
