"""``arena models``: the models, their answers, votes and live state.

A sub-app: plain ``arena models`` prints the listing; sub-commands (``arena models
NAME ...``) are added here with ``@app.command()``.
"""

from __future__ import annotations

import typer

from arena.cli_common import ConfigOption, open_arena

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
        return "unavailable (API key variable not set)"
    if endpoint["paused_until"]:
        return (f"unavailable: paused until {endpoint['paused_until']:%Y-%m-%d %H:%M:%S} UTC "
                f"after {endpoint['consecutive_failures']} failures")
    return "available" if endpoint["available"] else "unavailable (weight 0)"
