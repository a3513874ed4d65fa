"""LMArena-sized data: cold start, vote -> board, flag -> board, latency and memory of the
live board at 1 M and 10 M votes, before and after the stored segments.

    .venv/bin/python benchmarks/bench_scale.py                         # 1 M, both databases
    .venv/bin/python benchmarks/bench_scale.py --votes 10000000 --databases postgresql

Loads --votes votes among --models models into a fresh database (PostgreSQL: COPY;
SQLite: executemany; bench_leaderboard's loader), then:

1. *before*: a first `arena serve` process answers its first GET /api/leaderboard by
   reading every vote (no segments exist yet: the arena as it was before segments);
2. that process, serving, stores segments of the votes it has held for ten minutes
   (arena.services.board_segments); the time until the chain covers the load is printed;
3. *after*: a second `arena serve` process starts on the same database and answers its
   first GET from the segments plus the votes after them;
4. on the second process: vote -> board (POST a vote, poll until counted; median, p95),
   flag -> board (the owner flags a battle; poll until it leaves), GET /api/leaderboard
   latency with no new votes (p50, p99), and each process's peak memory (VmHWM).

Exports and imports at this size: benchmarks/bench_export.py. Cleans up after itself
(the scratch PostgreSQL database is dropped; the SQLite file is in a temporary folder).
Targets (issue 15): vote -> board < 0.2 s on PostgreSQL at 10 M, latency p99 < 50 ms,
memory per process < 1 GB.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from arena.config import load_settings  # noqa: E402
from arena.context import Arena  # noqa: E402
from arena.services.board_segments import chain_end  # noqa: E402
from arena.services.flags import set_battle_flag  # noqa: E402
from benchmarks.bench_leaderboard import board_parser, prepare, votes_of  # noqa: E402
from tests.utils.postgres import fresh_postgres_database  # noqa: E402
from tests.utils.processes import arena_env, serving_process  # noqa: E402

PAIR = {"model-000", "model-001"}


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_get(api: httpx.Client, **params: str) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    response = api.get("/api/leaderboard", params=params)
    response.raise_for_status()
    return time.perf_counter() - started, response.json()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wait_for_segments(arena: Arena, api: httpx.Client, votes: int, timeout: float) -> float:
    """Keep the first process polling (each poll may start a segment) until the chain
    covers all but the last segment's worth of the loaded votes."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        api.get("/api/leaderboard").raise_for_status()
        with arena.read_session() as session:
            if chain_end(session) >= votes - 100_000:
                return time.perf_counter() - started
        time.sleep(0.5)
    raise SystemExit(f"segments did not cover the load within {timeout} s")


def vote_to_board(api: httpx.Client, rounds: int) -> list[float]:
    delays = []
    for _ in range(rounds):
        battle = api.post("/api/battles", json={}).json()
        before = votes_of(api.get("/api/leaderboard").json(), PAIR)
        api.post(f"/api/battles/{battle['battle_id']}/vote",
                 json={"winner": "model_a"}).raise_for_status()
        stored = time.perf_counter()
        while votes_of(api.get("/api/leaderboard").json(), PAIR) != {
                m: before[m] + 1 for m in PAIR}:
            pass
        delays.append(time.perf_counter() - stored)
    return delays


def flag_to_board(arena: Arena, api: httpx.Client, rounds: int) -> list[float]:
    """The owner flags one of the pair's voted battles; time until the board drops it."""
    from sqlmodel import select

    from arena.models import Battle

    with arena.read_session() as session:
        ids = session.exec(select(Battle.id).where(Battle.status == "voted",
                                                   Battle.model_a == "model-000",
                                                   Battle.model_b == "model-001",
                                                   Battle.voter_id != "bench")
                           .limit(rounds)).all()
    delays = []
    for battle_id in ids:
        before = votes_of(api.get("/api/leaderboard").json(), PAIR)
        with arena.session() as session:
            set_battle_flag(session, battle_id, True)
        flagged = time.perf_counter()
        while votes_of(api.get("/api/leaderboard").json(), PAIR) != {
                m: before[m] - 1 for m in PAIR}:
            pass
        delays.append(time.perf_counter() - flagged)
    return delays


def run(kind: str, args: argparse.Namespace) -> dict[str, object]:
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = (f"sqlite:///{workdir / 'arena.db'}" if kind == "sqlite"
               else stack.enter_context(fresh_postgres_database()))
        load_s = prepare(url, workdir, args.votes, args.models)
        arena = Arena.open(load_settings(database_url=url, battle={"load_demo": False}))
        stack.callback(arena.close)
        # A script votes the moment a battle is shown: limits and the too-fast rule are off
        # for this benchmark, explicitly.
        env = arena_env(url, ARENA_BATTLE__LOAD_DEMO="false", ARENA_BATTLE__ANSWER_SETS='["pair"]',
                        ARENA_LIMITS__ENABLED="false", ARENA_LIMITS__TOO_FAST_MIN_SECONDS="0",
                        ARENA_LIMITS__TOO_FAST_SECONDS_PER_1000_CHARS="0",
                        # no import runs beside it: segments after one minute, not ten
                        ARENA_BATTLE__SEGMENT_SETTLE_SECONDS="60")
        first = stack.enter_context(serving_process(workdir, env))
        api_first = stack.enter_context(httpx.Client(base_url=first.url, timeout=900))
        before_s, _ = timed_get(api_first)
        segments_s = wait_for_segments(arena, api_first, args.votes, args.segment_timeout)
        second_started = utc_now()
        second = stack.enter_context(serving_process(workdir, env))
        api = stack.enter_context(httpx.Client(base_url=second.url, timeout=900))
        after_s, board = timed_get(api)
        second_answered = utc_now()
        other = api_first.get("/api/leaderboard").json()
        assert same_board(board, other), "two processes disagree"
        vote_delays = vote_to_board(api, args.rounds)
        flag_delays = flag_to_board(arena, api, args.rounds)
        latencies = [timed_get(api)[0] for _ in range(args.requests)]
        style_s, _ = timed_get(api, style_control="true")
        return {
            "database": kind, "votes": args.votes, "models": args.models,
            "bulk_load_s": load_s,
            "cold_start_before_s": before_s, "segments_stored_s": segments_s,
            "cold_start_after_s": after_s, "cold_start_ratio": after_s / before_s,
            "vote_to_board_median_s": statistics.median(vote_delays),
            "vote_to_board_p95_s": percentile(vote_delays, 0.95),
            "flag_to_board_median_s": statistics.median(flag_delays),
            "latency_p50_ms": 1000 * statistics.median(latencies),
            "latency_p99_ms": 1000 * percentile(latencies, 0.99),
            "first_style_view_s": style_s,
            "peak_mb_first_process": peak_mb(first.process.pid),
            "peak_mb_second_process": peak_mb(second.process.pid),
            # when the second process started and first answered, beside each process's
            # voter audits (log lines): an audit on the other core slows a cold start
            "second_started": second_started, "second_answered": second_answered,
            "audits_first_process": audit_lines(first.log_path),
            "audits_second_process": audit_lines(second.log_path),
        }


def same_board(mine: list[dict], theirs: list[dict]) -> bool:
    """The same models, votes and ratings to 1e-6 Elo points: a board fitted from
    segments and one fitted from every vote sum the same counts in another order."""
    def close(a: object, b: object) -> bool:
        return (math.isclose(a, b, rel_tol=0, abs_tol=1e-6)
                if isinstance(a, float) and isinstance(b, float) else a == b)
    keys = ("model", "rating", "lower", "upper", "votes")
    return len(mine) == len(theirs) and all(
        close(a[k], b[k]) for a, b in zip(mine, theirs, strict=True) for k in keys)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]


def audit_lines(log_path: Path) -> list[str]:
    return [line.strip()[:160] for line in log_path.read_text().splitlines()
            if "audited" in line]


def main() -> None:
    parser = board_parser(__doc__.split("\n\n")[0], rounds=20, requests=300)
    parser.add_argument("--segment-timeout", type=float, default=1800.0)
    args = parser.parse_args()
    for kind in args.databases:
        started = time.perf_counter()
        result = run(kind, args)
        result["run_s"] = time.perf_counter() - started
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                          for k, v in result.items()}), flush=True)


if __name__ == "__main__":
    main()
