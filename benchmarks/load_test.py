"""Load test of a deployed arena: voters start battles, read, vote; nothing lost.

Set-ups, each on a fresh database, the arena started by this script:
  sqlite         one `arena serve` process on a SQLite file
  postgres       two processes behind nginx on PostgreSQL (deploy/stack.py, as users run it)
  postgres-kill  the same, one process SIGKILLed halfway and restarted by the stack
V concurrent voters (--voters, default 200) start a battle, read, vote; most over
REST, --ui-voters of them through the Gradio UI's event API (the battle tab's "Next
battle" and "A is better" events over /gradio_api/queue/join + /queue/data, as the
page does). Two phases per set-up: capacity (--pairs each without reading: the
server saturated, pairs/s) and reading voters (--reading-pairs each, reading
--read-delay s, 0.5-1.5x at random: the latency people see at that load; the kill
happens halfway through this one). Bounded by count and by --deadline per phase;
loopback only.

Ceilings in the same run (benchmarks/bare_apps.py): a bare FastAPI + SQLModel app
inserting one row per request (one process on SQLite; two uvicorn workers on
PostgreSQL, run right before and right after the arena's capacity phase, the two
rates averaged: this machine's speed drifts by tens of percent over minutes), driven
by the same number of clients without delay; a bare Gradio app
whose event inserts one row, against the arena's UI events (one process, SQLite,
--ui-ceiling-voters sessions, no delay, the same queue settings in both; --ui-rounds
rounds that alternate which app goes first, both servers up throughout), with each
server process's CPU time per event beside the rates (Linux; the machine's other load
moves it less than it moves events/s).

Limits are OFF in the arena's config (limits.enabled = false, no too-fast rule):
a benchmark votes faster and more often than people, and the per-IP limits would
refuse loopback clients that all share one address.

Checks: every acknowledged (200) vote is stored, once; votes whose request died
(no answer or 5xx, e.g. with the killed process) are counted apart.

    .venv/bin/python benchmarks/load_test.py [--voters 200] [--pairs 5] [--reading-pairs 3]
        [--read-delay 5] [--ui-voters 10] [--setups sqlite postgres postgres-kill]
    .venv/bin/python benchmarks/load_test.py --only-ui [--ui-ceiling-voters 20] [--pairs 5]
        [--ui-rounds 4]

--only-ui runs the UI comparison alone: the arena (after the UI warm-up of a full run,
not its REST phases) and the bare Gradio app, as in a full run.

PostgreSQL: ARENA_TEST_POSTGRES_URL's server (default 127.0.0.1:5432, db test), a
fresh database per set-up. nginx: Debian's (/usr/sbin/nginx).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from arena.config import load_settings  # noqa: E402
from arena.context import Arena  # noqa: E402
from arena.models import Vote  # noqa: E402
from arena.ui.i18n import MESSAGES  # noqa: E402
from benchmarks.gradio_events import EventFailed, GradioSession, fn_index  # noqa: E402
from deploy.stack import Stack  # noqa: E402
from tests.utils.limits import NO_LIMITS_TOML  # noqa: E402
from tests.utils.load import LoadResult, percentile, run_voters, voter_client  # noqa: E402
from tests.utils.postgres import fresh_postgres_database  # noqa: E402
from tests.utils.processes import arena_env, serving_process  # noqa: E402
from tests.utils.server import free_port  # noqa: E402
from tests.utils.waiting import wait_until  # noqa: E402

SETUPS = ("sqlite", "postgres", "postgres-kill")
TARGET_PAIRS_OVER_BARE = 0.40
TARGET_VOTE_P99 = 0.300
TARGET_UI_OVER_BARE = 0.80
# The start of the reveal after a vote, in English (the voters send no Accept-Language).
REVEALED = MESSAGES["en"]["revealed"].split("{a}")[0]


@dataclass
class Timed:
    kind: str
    start: float
    latency: float
    ok: bool
    uncertain: bool = False  # a vote whose request died: stored or not


@dataclass
class UiResult:
    events: list[Timed] = field(default_factory=list)
    wall: float = 0.0
    server_cpu: float | None = None  # CPU seconds the server process spent meanwhile

    def acknowledged_votes(self) -> int:
        return sum(1 for e in self.events if e.kind == "vote" and e.ok)

    def uncertain_votes(self) -> int:
        return sum(1 for e in self.events if e.kind == "vote" and e.uncertain)


async def ui_voters(url: str, *, voters: int, pairs: int, read_delay: float,
                    deadline: float, start_elem: str = "battle-next",
                    vote_elem: str | None = "battle-vote-a") -> UiResult:
    """Voters through the Gradio page's events: start a battle, read, vote (per pair).

    With vote_elem None (the bare Gradio app), each pair is two events of *start_elem*.
    """
    result = UiResult()
    began = time.monotonic()
    stop_at = began + deadline

    async def timed(session: GradioSession, kind: str, fn: int, data: list[Any]) -> list[Any]:
        start = time.monotonic()
        try:
            output = await session.event(fn, data)
        except (EventFailed, httpx.HTTPError):
            result.events.append(Timed(kind, start, time.monotonic() - start, False,
                                       uncertain=kind == "vote"))
            raise
        # The arena's vote answers with the reveal ("**Model A** was **...**"; a refusal
        # is "Your vote was not recorded: ..."); its battle start with both answers (a
        # refusal leaves them empty). The bare app: any answer.
        ok = (vote_elem is None or (kind == "vote" and REVEALED in str(output[0]))
              or (kind == "battle" and bool(output[1])))
        result.events.append(Timed(kind, start, time.monotonic() - start, ok))
        return output

    async def voter(index: int) -> None:
        async with voter_client(timeout=60) as client:
            session = GradioSession(client, url)
            config = await session.open()
            start_fn = fn_index(config, start_elem)
            vote_fn = fn_index(config, vote_elem) if vote_elem else start_fn
            for _ in range(pairs):
                if time.monotonic() > stop_at:
                    return
                try:
                    await timed(session, "battle", start_fn, [])
                    if read_delay:
                        await asyncio.sleep(read_delay * (0.5 + (index * 7919 % 100) / 100))
                    await timed(session, "vote", vote_fn, [None] if vote_elem else [])
                except (EventFailed, httpx.HTTPError):
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(voter(i) for i in range(voters)))
    result.wall = time.monotonic() - began
    return result


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process *pid* so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ui_ceiling_run(url: str, pid: int, args: argparse.Namespace, **kwargs: Any) -> UiResult:
    """The UI comparison's run of one app: its sessions without delay, and the CPU time
    its server process spent meanwhile (a figure the machine's other load moves less
    than events/s)."""
    before = cpu_seconds(pid)
    result = asyncio.run(ui_voters(url, voters=args.ui_ceiling_voters, pairs=args.pairs,
                                   read_delay=0, deadline=args.deadline, **kwargs))
    after = cpu_seconds(pid)
    if before is not None and after is not None:
        result.server_cpu = after - before
    return result


def ui_rounds(arena: Callable[[], UiResult], bare: Callable[[], UiResult],
              rounds: int) -> tuple[UiResult, UiResult]:
    """The two apps' UI runs in alternating rounds (arena first, then bare first, ...),
    both servers up throughout, so that the machine's drift weighs on both alike; each
    app's events, wall time and CPU time summed over its rounds."""
    totals = (UiResult(), UiResult())
    for index in range(rounds):
        runs = (arena, bare) if index % 2 == 0 else (bare, arena)
        results = {run: run() for run in runs}
        for total, run in zip(totals, (arena, bare), strict=True):
            result = results[run]
            total.events += result.events
            total.wall += result.wall
            if result.server_cpu is not None:
                total.server_cpu = (total.server_cpu or 0.0) + result.server_cpu
        print(f"   UI round {index + 1}: arena {ok_rate(results[arena]):.1f} events/s, bare "
              f"Gradio {ok_rate(results[bare]):.1f} events/s "
              f"({ok_rate(results[arena]) / ok_rate(results[bare]):.0%})")
    return totals


def ok_rate(result: UiResult) -> float:
    return sum(1 for e in result.events if e.ok) / result.wall


async def bare_requests(url: str, *, clients: int, per_client: int,
                        deadline: float) -> list[Timed]:
    done: list[Timed] = []
    stop_at = time.monotonic() + deadline

    async def client_loop() -> None:
        async with voter_client(timeout=60) as client:
            for _ in range(per_client):
                if time.monotonic() > stop_at:
                    return
                start = time.monotonic()
                try:
                    ok = (await client.post(f"{url}/insert")).status_code == 200
                except httpx.HTTPError:
                    ok = False
                done.append(Timed("insert", start, time.monotonic() - start, ok))

    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return done


# -- servers ---------------------------------------------------------------------------


def arena_config(workdir: Path) -> Path:
    path = workdir / "arena.toml"
    path.write_text("# load_test.py: limits OFF on purpose (see the module docstring)\n"
                    + NO_LIMITS_TOML + "battle.load_demo = true\n")
    return path


@contextmanager
def bare_server(kind: str, database_url: str, *,
                workers: int = 1) -> Iterator[tuple[str, int]]:
    """The bare app served by uvicorn: its URL and process id (one worker: the server)."""
    from benchmarks import bare_apps

    os.environ["BARE_DATABASE_URL"] = database_url
    bare_apps._engine().dispose()  # the table, made once before the workers start
    port = free_port()
    env = arena_env(BARE_DATABASE_URL=database_url, PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"benchmarks.bare_apps:{kind}_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning"], cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}"
    probe = "/docs" if kind == "fastapi" else "/config"
    try:
        wait_until(lambda: _answers(f"{url}{probe}", process), timeout=120,
                   what=f"the bare {kind} app")
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"server exited with {process.returncode}")
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stored_votes(database_url: str) -> dict[str, int]:
    arena = Arena.open(load_settings(database_url=database_url, battle={"load_demo": False}),
                       migrate=False)
    try:
        with arena.session() as session:
            rows = session.exec(select(Vote.battle_id, func.count())
                                .group_by(Vote.battle_id)).all()
        return dict(rows)  # type: ignore[arg-type]
    finally:
        arena.close()


# -- report ----------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def latency_line(name: str, latencies: list[float]) -> str:
    return (f"{name} p50 {ms(percentile(latencies, 50))}, p99 {ms(percentile(latencies, 99))}"
            if latencies else f"{name}: none")


def account(database_url: str, rests: list[LoadResult], uis: list[UiResult]) -> dict[str, int]:
    """Stored votes against what the voters were told (warm-up runs included)."""
    stored = stored_votes(database_url)
    acknowledged = set().union(*(rest.acknowledged_votes() for rest in rests))
    died = set().union(*(rest.uncertain_votes() for rest in rests))
    ui_acknowledged = sum(ui.acknowledged_votes() for ui in uis)
    ui_died = sum(ui.uncertain_votes() for ui in uis)
    return {
        "acknowledged": len(acknowledged) + ui_acknowledged,
        "stored": len(stored),
        "lost": len(acknowledged - stored.keys()),
        "duplicated": sum(count - 1 for count in stored.values()),
        "died": len(died) + ui_died,
        # Stored votes nobody was told about, beyond those whose request died: must be 0.
        "unexplained": max(0, len(stored) - len(acknowledged) - ui_acknowledged
                           - len(died) - ui_died),
        # UI votes have no id on the client: counted; the acknowledged ones must be stored.
        "ui_missing": max(0, len(acknowledged) + ui_acknowledged - len(stored)),
    }


def report_phase(name: str, rest: LoadResult, ui: UiResult, wall: float) -> dict[str, float]:
    pairs = len(rest.acknowledged_votes()) + ui.acknowledged_votes()
    battle = [r.latency for r in rest.of("battle") if r.ok]
    vote = [r.latency for r in rest.of("vote") if r.ok]
    errors = len(rest.errors()) + sum(1 for e in ui.events if not e.ok)
    rate = pairs / wall
    print(f"   {name}: {pairs} pairs in {wall:.1f} s = {rate:.1f} pairs/s "
          f"(REST {len(rest.acknowledged_votes())}, UI {ui.acknowledged_votes()}); "
          f"errors {errors} of {len(rest.requests) + len(ui.events)}")
    print(f"      REST {latency_line('battle', battle)}; {latency_line('vote', vote)}")
    ui_vote = [e.latency for e in ui.events if e.kind == "vote" and e.ok]
    ui_battle = [e.latency for e in ui.events if e.kind == "battle" and e.ok]
    print(f"      UI   {latency_line('battle', ui_battle)}; {latency_line('vote', ui_vote)}")
    if rest.errors():
        kinds = Counter(f"{r.kind} {r.status or (r.error or '').split(':')[0]}"
                        for r in rest.errors())
        print("      REST errors: " + ", ".join(f"{k} x{n}" for k, n in kinds.most_common()))
    return {"pairs_per_s": rate, "vote_p99": percentile(vote, 99)}


async def phase(url: str, args: argparse.Namespace, *, pairs: int, read_delay: float,
                midway: Any = None) -> tuple[LoadResult, UiResult, float]:
    started = time.monotonic()
    rest, ui = await asyncio.gather(
        run_voters(url, voters=args.voters - args.ui_voters, pairs=pairs,
                   read_delay=read_delay, deadline=args.deadline, midway=midway),
        ui_voters(url, voters=args.ui_voters, pairs=pairs, read_delay=read_delay,
                  deadline=args.deadline))
    return rest, ui, time.monotonic() - started


def measure(label: str, url: str, database_url: str, args: argparse.Namespace, *,
            midway: Any = None, around_capacity: Callable[[], Awaitable[object]] | None = None,
            ) -> tuple[dict[str, float], dict[str, int]]:
    """Warm-up; capacity (no read delay; not with a kill); voters who read; the votes.

    Capacity gives pairs/s (the server saturated); the reading voters give latency
    (the load of --voters people reading --read-delay s each). The kill, if any,
    happens halfway through the reading voters' phase. *around_capacity* runs right
    before and right after the capacity phase (the ceiling's runs, so that the
    machine's speed, which drifts by tens of percent over minutes here, is the same).
    """
    print(f"\n== {label}")
    rests: list[LoadResult] = []
    uis: list[UiResult] = []

    async def run() -> dict[str, float]:
        warm_rest = await run_voters(url, voters=4, pairs=3, deadline=args.deadline)
        warm_ui = await ui_voters(url, voters=2, pairs=2, read_delay=0, deadline=args.deadline)
        rests.append(warm_rest)
        uis.append(warm_ui)
        figures: dict[str, float] = {}
        if midway is None:
            if around_capacity is not None:
                await around_capacity()
            rest, ui, wall = await phase(url, args, pairs=args.pairs, read_delay=0)
            if around_capacity is not None:
                await around_capacity()
            rests.append(rest)
            uis.append(ui)
            figures["pairs_per_s"] = report_phase("capacity (no read delay)", rest, ui,
                                                  wall)["pairs_per_s"]
        rest, ui, wall = await phase(url, args, pairs=args.reading_pairs,
                                     read_delay=args.read_delay, midway=midway)
        rests.append(rest)
        uis.append(ui)
        reading = report_phase(f"voters reading {args.read_delay:g} s", rest, ui, wall)
        figures["vote_p99"] = reading["vote_p99"]
        figures.setdefault("pairs_per_s", reading["pairs_per_s"])
        return figures

    figures = asyncio.run(run())
    votes = account(database_url, rests, uis)
    print("   votes: " + ", ".join(f"{key} {value}" for key, value in votes.items()))
    return figures, votes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voters", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=5,
                        help="battle+vote pairs per voter, capacity phase (no read delay)")
    parser.add_argument("--reading-pairs", type=int, default=3,
                        help="pairs per voter in the phase where voters read")
    parser.add_argument("--read-delay", type=float, default=5.0,
                        help="seconds a voter reads before voting (mean; 0.5-1.5x)")
    parser.add_argument("--ui-voters", type=int, default=10,
                        help="of --voters, through the Gradio UI's events")
    parser.add_argument("--ui-ceiling-voters", type=int, default=20)
    parser.add_argument("--ui-rounds", type=int, default=4,
                        help="alternating rounds of the UI comparison, each app's summed")
    parser.add_argument("--deadline", type=float, default=240.0, help="seconds per phase")
    parser.add_argument("--setups", nargs="+", choices=SETUPS, default=list(SETUPS))
    parser.add_argument("--only-ui", action="store_true",
                        help="only the UI comparison (arena vs bare Gradio, SQLite, one "
                             "process): no REST phases, no PostgreSQL")
    args = parser.parse_args()
    if args.only_ui:
        args.setups = ["sqlite"]
    if args.only_ui:
        print(f"load_test --only-ui: {args.ui_ceiling_voters} Gradio sessions, {args.pairs} "
              f"pairs each without reading, in the arena then in the bare Gradio app; "
              f"limits OFF; {os.cpu_count()} cores, client on the same cores")
    else:
        print(f"load_test: {args.voters} voters ({args.ui_voters} through the UI); capacity: "
              f"{args.pairs} pairs each without reading; then {args.reading_pairs} pairs "
              f"each reading {args.read_delay:g} s; limits OFF "
              f"(limits.enabled = false); {os.cpu_count()} cores, client on the same cores")
    figures: dict[str, dict[str, float]] = {}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="arena-load-") as temporary:
        root = Path(temporary)
        config = arena_config(root)
        if "sqlite" in args.setups:
            sqlite_url = f"sqlite:///{root / 'arena.db'}"
            with serving_process(root, arena_env(sqlite_url),
                                 extra_args=("--config", str(config))) as served:
                if args.only_ui:  # the UI warm-up of measure(), without its REST phases
                    asyncio.run(ui_voters(served.url, voters=2, pairs=2, read_delay=0,
                                          deadline=args.deadline))
                else:
                    figures["sqlite"], votes = measure("sqlite, 1 process", served.url,
                                                       sqlite_url, args)
                    failures += check_votes("sqlite", votes)
                with bare_server("gradio", f"sqlite:///{root / 'bare-ui.db'}") as (url, pid):
                    asyncio.run(ui_voters(url, voters=2, pairs=2, read_delay=0,
                                          deadline=args.deadline, start_elem="bare-insert",
                                          vote_elem=None))  # its warm-up
                    figures["ui"] = report_ui(*ui_rounds(
                        lambda: ui_ceiling_run(served.url, served.process.pid, args),
                        lambda: ui_ceiling_run(url, pid, args, start_elem="bare-insert",
                                               vote_elem=None),
                        args.ui_rounds))
            if not args.only_ui:
                bare_url = f"sqlite:///{root / 'bare.db'}"
                with bare_server("fastapi", bare_url) as (url, _):
                    bare = asyncio.run(bare_requests(url, clients=args.voters,
                                                     per_client=args.pairs * 2,
                                                     deadline=args.deadline))
                figures["bare-sqlite"] = report_bare(
                    "bare FastAPI+SQLModel, sqlite, 1 process", bare)
        postgres_setups = [s for s in args.setups if s.startswith("postgres")]
        if postgres_setups:
            with fresh_postgres_database() as bare_db, \
                    bare_server("fastapi", bare_db, workers=2) as (bare_url, _):
                bare_runs: list[list[Timed]] = []

                async def bare_run() -> None:
                    bare_runs.append(await bare_requests(
                        bare_url, clients=args.voters, per_client=args.pairs * 2,
                        deadline=args.deadline))

                for setup in postgres_setups:
                    figures[setup], votes = measure_postgres(
                        setup, root, config, args,
                        around_capacity=bare_run if setup == "postgres" else None)
                    failures += check_votes(setup, votes)
                if not bare_runs:  # postgres-kill alone: no capacity phase to bracket
                    asyncio.run(bare_run())
            rates = [report_bare(f"bare FastAPI+SQLModel, postgres, 2 uvicorn workers, {when}",
                                 done)["requests_per_s"]
                     for when, done in zip(("before the arena's capacity phase",
                                            "right after it") if len(bare_runs) == 2
                                           else ("after the arena's set-ups",),
                                           bare_runs, strict=True)]
            figures["bare-postgres"] = {"requests_per_s": sum(rates) / len(rates)}
    missed = summary(figures)
    print("\nall targets met" if not failures + missed
          else "\nmissed: " + "; ".join(failures + missed))
    return 1 if failures else 0  # a vote lost or counted twice fails the run; speed does not


def measure_postgres(setup: str, root: Path, config: Path, args: argparse.Namespace, *,
                     around_capacity: Callable[[], Awaitable[object]] | None,
                     ) -> tuple[dict[str, float], dict[str, int]]:
    """One PostgreSQL set-up: two arena processes behind nginx on a fresh database."""
    with fresh_postgres_database() as database_url, Stack(
            root / f"run-{setup}", workers=2, database_url=database_url,
            config=config, cwd=root, env=arena_env(), access_log=False) as stack:
        midway = None
        if setup == "postgres-kill":
            def midway() -> None:
                pid = stack.kill_worker(0)
                stack.wait_restarted(0, pid)
        label = {"postgres": "postgres, 2 processes behind nginx",
                 "postgres-kill": "postgres, 2 processes, one SIGKILLed halfway"}[setup]
        return measure(label, stack.url, database_url, args, midway=midway,
                       around_capacity=around_capacity)


def check_votes(setup: str, votes: dict[str, int]) -> list[str]:
    bad = {k: votes[k] for k in ("lost", "duplicated", "unexplained", "ui_missing") if votes[k]}
    return [f"{setup}: votes {bad}"] if bad else []


def report_bare(name: str, done: list[Timed]) -> dict[str, float]:
    ok = [d for d in done if d.ok]
    wall = max(d.start + d.latency for d in done) - min(d.start for d in done)
    rate = len(ok) / wall
    print(f"\n== {name}: {len(ok)} inserts in {wall:.1f} s = {rate:.1f} requests/s; "
          f"{latency_line('latency', [d.latency for d in ok])}; "
          f"errors {len(done) - len(ok)}")
    return {"requests_per_s": rate}


def report_ui(arena: UiResult, bare: UiResult) -> dict[str, float]:
    arena_rate, bare_rate = ok_rate(arena), ok_rate(bare)
    print(f"\n== UI events, 1 process, sqlite, no read delay, all rounds: arena "
          f"{arena_rate:.1f} events/s "
          f"({latency_line('', [e.latency for e in arena.events if e.ok])}; errors "
          f"{sum(1 for e in arena.events if not e.ok)} of {len(arena.events)}); bare Gradio "
          f"insert {bare_rate:.1f} events/s "
          f"({latency_line('', [e.latency for e in bare.events if e.ok])}; errors "
          f"{sum(1 for e in bare.events if not e.ok)} of {len(bare.events)})")
    if arena.server_cpu is not None and bare.server_cpu is not None:
        per_event = [ui.server_cpu / max(1, sum(1 for e in ui.events if e.ok)) * 1000
                     for ui in (arena, bare)]  # type: ignore[operator]
        print(f"   server CPU per event: arena {per_event[0]:.1f} ms, bare Gradio "
              f"{per_event[1]:.1f} ms (bare over arena: {per_event[1] / per_event[0]:.0%})")
    return {"arena_events_per_s": arena_rate, "bare_events_per_s": bare_rate}


def summary(figures: dict[str, dict[str, float]]) -> list[str]:
    missed: list[str] = []
    print("\n== targets")
    if "postgres" in figures and "bare-postgres" in figures:
        ratio = figures["postgres"]["pairs_per_s"] / figures["bare-postgres"]["requests_per_s"]
        line = (f"pairs/s over bare requests/s (postgres, 2 processes; the mean of the bare "
                f"runs before and after): {ratio:.0%}")
        print(f"   {line} (target >= {TARGET_PAIRS_OVER_BARE:.0%})")
        if ratio < TARGET_PAIRS_OVER_BARE:
            missed.append(line)
    if "sqlite" in figures and "bare-sqlite" in figures:
        ratio = figures["sqlite"]["pairs_per_s"] / figures["bare-sqlite"]["requests_per_s"]
        print(f"   pairs/s over bare requests/s (sqlite, 1 process): {ratio:.0%} (no target)")
    for setup in ("sqlite", "postgres", "postgres-kill"):
        if setup in figures:
            p99 = figures[setup]["vote_p99"]
            line = f"vote p99 {setup}: {ms(p99)}"
            print(f"   {line} (target < {ms(TARGET_VOTE_P99)})")
            if not p99 < TARGET_VOTE_P99:
                missed.append(line)
    if "ui" in figures:
        ratio = figures["ui"]["arena_events_per_s"] / figures["ui"]["bare_events_per_s"]
        line = f"UI events/s over bare Gradio events/s: {ratio:.0%}"
        print(f"   {line} (target >= {TARGET_UI_OVER_BARE:.0%})")
        if ratio < TARGET_UI_OVER_BARE:
            missed.append(line)
    return missed


if __name__ == "__main__":
    sys.exit(main())
