"""``arena models``: the models, their answers, votes and live state.

A sub-app: plain ``arena models`` prints the listing; sub-commands (``arena models
NAME ...``) are added here with ``@app.command()``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from arena.cli_common import ConfigOption, fail, in_session, open_arena, settings_or_exit

app = typer.Typer(help="List models with their answers and votes.")


@app.callback(invoke_without_command=True)
def models(ctx: typer.Context, config: ConfigOption = None) -> None:
    """List models with their answers and votes."""
    if ctx.invoked_subcommand is None:
        list_models(config)


def list_models(config: ConfigOption = None) -> None:
    """Print one line per model: answers, votes, win rate, live state."""
    from arena import services
    from arena.services import live

    arena = open_arena(config)
    settings = arena.settings
    with arena.session() as session:
        live.sync_models(session, settings)
        rows = services.model_stats(session)
        endpoints = {row["model"]: row for row in live.live_model_status(session, settings)}
    if not rows:
        typer.echo("no models yet: import an answer set (arena import answers PATH)")
        return
    width = max(len("model"), *(len(r.model) for r in rows))
    typer.echo(f"{'model':<{width}}  {'answers':>7}  {'votes':>6}  {'win rate':>8}  live")
    for r in rows:
        rate = f"{r.win_rate:.1%}" if r.win_rate is not None else "-"
        typer.echo(f"{r.model:<{width}}  {r.answers:>7}  {r.votes:>6}  {rate:>8}  "
                   f"{_live_state(endpoints.get(r.model))}")


def _live_state(endpoint: dict[str, object] | None) -> str:
    if endpoint is None:
        return "-"
    if endpoint["missing_key"]:
        state = "unavailable (API key variable not set)"
    elif endpoint["paused_until"]:
        state = (f"unavailable: paused until {endpoint['paused_until']:%Y-%m-%d %H:%M:%S} UTC "
                 f"after {endpoint['consecutive_failures']} failures")
    else:
        state = "available" if endpoint["available"] else "unavailable (weight 0)"
    failure = endpoint.get("last_failure")
    if failure is not None:
        state += (f"; last failure {failure.at:%Y-%m-%d %H:%M:%S} UTC {failure.kind}: "
                  f"{failure.reason[:120]} ({failure.last_hour} in the last hour)")
    return state


@app.command("check")
def check(
    names: Annotated[list[str] | None, typer.Argument(
        help="Live models to check (default: every configured one).")] = None,
    slow: Annotated[float, typer.Option(
        help="A first token slower than this many seconds fails the check.")] = 10.0,
    config: ConfigOption = None,
) -> None:
    """Send each live endpoint a tiny request; exit 1 when any is not ok. Stores nothing."""
    from arena.providers.transport import EndpointClient
    from arena.services.errors import ServiceError
    from arena.services.live_check import check_models

    settings = settings_or_exit(config)
    if not settings.models:
        raise fail("no live models configured ([[models]] in the config)")

    async def run() -> list:
        client = EndpointClient()
        try:
            return await check_models(settings, names or (), client=client, slow_after=slow)
        finally:
            await client.aclose()

    try:
        results = asyncio.run(run())
    except ServiceError as exc:
        raise fail(str(exc)) from exc
    width = max(len(r.model) for r in results)
    for result in results:
        typer.echo(f"{result.model:<{width}}  {result.line()}")
    failed = [r.model for r in results if not r.ok]
    if failed:
        typer.echo(f"{len(failed)} of {len(results)} endpoints failed the check", err=True)
        raise typer.Exit(1)


@app.command("unpause")
def unpause(name: Annotated[str, typer.Argument(help="The paused live model.")],
            config: ConfigOption = None) -> None:
    """Let a paused live model be drawn again now (its failure count starts over)."""
    from arena.services.live_health import unpause_model

    was_paused = in_session(config, lambda session: unpause_model(session, name))
    typer.echo(f"{name}: unpaused" if was_paused else f"{name} was not paused")


@app.command("reload")
def reload(
    url: Annotated[str | None, typer.Option(
        help="The running arena (default: http://server.host:server.port).")] = None,
    config: ConfigOption = None,
) -> None:
    """Check the config file, then make the running arena reload its live models.

    Each `arena serve` process also reloads by itself within seconds of a change
    to its config files, and at once on SIGHUP."""
    import httpx

    settings = settings_or_exit(config)
    token = settings.admin.token
    if not token:
        raise fail("admin.token is not set: the running arena's owner routes are off")
    host = "127.0.0.1" if settings.server.host in ("0.0.0.0", "::") else settings.server.host
    base = (url or f"http://{host}:{settings.server.port}").rstrip("/")
    try:
        answer = httpx.post(f"{base}/api/admin/models/reload", timeout=30,
                            headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the arena at {base}: {exc}") from exc
    if answer.status_code != 200:
        detail = answer.json().get("detail") if answer.headers.get(
            "content-type", "").startswith("application/json") else answer.text
        raise fail(f"the arena at {base} answered {answer.status_code}: {detail}")
    body = answer.json()
    typer.echo(body["summary"])
