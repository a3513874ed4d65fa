"""``arena judge``: LLM-judge battles on the answer sets (arena.services.judging)."""

from __future__ import annotations

from typing import Annotated

import typer

from arena.cli_common import ConfigOption, fail, open_arena

app = typer.Typer(no_args_is_help=True, help="LLM-judge battles beside the human ones.")

JudgeOption = Annotated[str, typer.Option("--judge", help="A [[judges]] name of the config.")]


@app.command("run")
def run(
    judge: JudgeOption,
    answer_set: Annotated[list[str] | None, typer.Option(
        "--answer-set", help="Judge only these answer sets (repeatable); default: all.")] = None,
    pairs: Annotated[int | None, typer.Option(
        "--pairs", min=1, help="Judge this many (question, model pair) items, drawn with "
                               "--seed, each in both orders.")] = None,
    all_pairs: Annotated[bool, typer.Option("--all", help="Judge every item.")] = False,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256,
                                             help="Requests at once.")] = 4,
    seed: Annotated[int, typer.Option("--seed", help="Which items --pairs draws.")] = 0,
    config: ConfigOption = None,
) -> None:
    """Judge answer-set battles in both orders; a second run skips what is stored."""
    from arena.services.errors import ServiceError
    from arena.services.judging import judge_stats, run_judge_sync

    if (pairs is None) == (not all_pairs):
        raise fail("say how much to judge: --pairs N or --all")
    arena = open_arena(config)
    try:
        chosen = next((j for j in arena.settings.judges if j.name == judge), None)
        if chosen is None:
            known = ", ".join(j.name for j in arena.settings.judges) or "none configured"
            raise fail(f"no judge named {judge!r} in [[judges]] ({known})")
        with typer.progressbar(length=1, label="judging", file=None) as bar:
            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(1)

            try:
                summary = run_judge_sync(
                    arena, chosen, answer_sets=answer_set or (), pairs=pairs,
                    concurrency=concurrency, seed=seed, progress=progress)
            except ServiceError as exc:
                raise fail(str(exc)) from exc
        with arena.session() as session:
            stats = judge_stats(session, judge)
    finally:
        arena.close()
    typer.echo(f"judged {summary.planned} battles in {summary.seconds:.1f} s "
               f"({summary.skipped} already stored): {summary.verdicts} verdicts, "
               f"{summary.unreadable} unreadable, {summary.errors} endpoint failures"
               + (f" ({', '.join(f'{k} {n}' for k, n in sorted(summary.error_kinds.items()))};"
                  " run again to retry them)" if summary.errors else ""))
    typer.echo(f"tokens: {summary.prompt_tokens} prompt, {summary.completion_tokens} completion")
    bias = "—" if stats.position_bias is None else f"{stats.position_bias:.1%}"
    typer.echo(f"{judge}: {stats.verdicts} verdicts stored, {stats.unreadable} unreadable; "
               f"position bias {bias} over {stats.both_orders} items judged in both orders")
    if summary.errors:
        raise typer.Exit(code=1)
