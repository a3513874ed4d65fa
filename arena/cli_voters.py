"""``arena keys``, ``arena voters`` and ``arena battles``: who may vote, and whose votes count."""

from __future__ import annotations

from typing import Annotated

import typer

from arena.cli_common import ConfigOption, in_session, open_arena

keys_app = typer.Typer(no_args_is_help=True, help="API keys for scripts (X-Voter-Id).")
voters_app = typer.Typer(no_args_is_help=True, help="Anomalous voters: audit and flags.")
battles_app = typer.Typer(no_args_is_help=True, help="Battles left out of ratings.")


@keys_app.command("create")
def create(name: Annotated[str, typer.Argument(help="What the key is for.")],
           config: ConfigOption = None) -> None:
    """Make a key and print it once (only its hash is kept)."""
    from arena.services.api_keys import create_key

    key = in_session(config, lambda session: create_key(session, name))
    typer.echo(key)
    typer.echo(f"key {name!r} made: send it as 'Authorization: Bearer <key>'; it is not "
               "shown again", err=True)


@keys_app.command("list")
def list_keys(config: ConfigOption = None) -> None:
    """Keys by name, with when they were made, last used and revoked."""
    from arena.services.api_keys import list_keys as keys

    arena = open_arena(config)
    with arena.read_session() as session:
        rows = keys(session)
    if not rows:
        typer.echo("no keys (arena keys create NAME)")
        return
    width = max(len("name"), *(len(r.name) for r in rows))
    typer.echo(f"{'name':<{width}}  {'key':<15}  {'created':<16}  {'last used':<16}  state")
    for r in rows:
        used = f"{r.last_used_at:%Y-%m-%d %H:%M}" if r.last_used_at else "-"
        state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        typer.echo(f"{r.name:<{width}}  {r.prefix + '...':<15}  {r.created_at:%Y-%m-%d %H:%M}"
                   f"  {used:<16}  {state}")


@keys_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The key's name.")],
           config: ConfigOption = None) -> None:
    """Refuse the key from now on."""
    from arena.services.api_keys import revoke_key

    in_session(config, lambda session: revoke_key(session, name))
    typer.echo(f"key {name!r} revoked")


@voters_app.command("audit")
def audit(config: ConfigOption = None) -> None:
    """Run the anomalous-voter audit now and store its flags."""
    from arena.services.audit import run_audit

    report = run_audit(open_arena(config))
    typer.echo(report.summary())
    for voter_id, reason in report.flagged:
        typer.echo(f"  {voter_id}: {reason}")


@voters_app.command("list")
def list_voters(
    flagged: Annotated[bool, typer.Option("--flagged", help="Flagged voters (the default).")]
    = True,
    all_reviewed: Annotated[bool, typer.Option(
        "--include-cleared", help="Also voters whose flag was cleared.")] = False,
    config: ConfigOption = None,
) -> None:
    """Flagged voters, who flagged them and why."""
    from arena.services.flags import flagged_voters

    arena = open_arena(config)
    with arena.read_session() as session:
        rows = flagged_voters(session, include_cleared=all_reviewed)
    if not rows:
        typer.echo("no flagged voters")
        return
    for r in rows:
        state = "flagged" if r.flagged else "cleared"
        review = f", {r.review} by the owner" if r.review else ""
        typer.echo(f"{r.voter_id}  {state} ({r.source}{review}, {r.updated_at:%Y-%m-%d %H:%M}"
                   f" UTC, {r.battles} battles): {r.reason}")


@voters_app.command("flag")
def flag(voter_id: Annotated[str, typer.Argument(help="The voter id.")],
         reason: Annotated[str, typer.Option(help="Why (shown in listings).")] = "",
         config: ConfigOption = None) -> None:
    """Flag a voter, or confirm the audit's flag: their votes leave the board."""
    from arena.services.flags import flag_voter

    in_session(config, lambda session: flag_voter(session, voter_id, reason))
    typer.echo(f"{voter_id}: flagged")


@voters_app.command("unflag")
def unflag(voter_id: Annotated[str, typer.Argument(help="The voter id.")],
           config: ConfigOption = None) -> None:
    """Clear a voter's flag (the audit will not flag them again)."""
    from arena.services.flags import unflag_voter

    in_session(config, lambda session: unflag_voter(session, voter_id))
    typer.echo(f"{voter_id}: cleared")


@battles_app.command("flag")
def flag_battle(battle_id: Annotated[str, typer.Argument(help="The battle id.")],
                config: ConfigOption = None) -> None:
    """Leave a battle's vote out of ratings and exports."""
    from arena.services.flags import set_battle_flag

    in_session(config, lambda session: set_battle_flag(session, battle_id, True))
    typer.echo(f"battle {battle_id}: flagged")


@battles_app.command("unflag")
def unflag_battle(battle_id: Annotated[str, typer.Argument(help="The battle id.")],
                  config: ConfigOption = None) -> None:
    """Count a flagged battle's vote again."""
    from arena.services.flags import set_battle_flag

    in_session(config, lambda session: set_battle_flag(session, battle_id, False))
    typer.echo(f"battle {battle_id}: unflagged")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.add_typer(voters_app, name="voters")
    app.add_typer(battles_app, name="battles")
