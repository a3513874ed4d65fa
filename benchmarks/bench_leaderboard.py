"""Live leaderboard at scale: vote-to-board delay and /api/leaderboard latency.

Loads --votes votes among --models models straight into a fresh database
(SQLite: executemany; PostgreSQL: COPY), imports a two-model answer set so
that the REST API can draw battles, starts `arena serve` in a child process,
then measures:

* cold load: the first GET /api/leaderboard (the process reads every vote);
* vote -> board: POST a vote, then poll GET /api/leaderboard until the
  voted models' vote counts include it (--rounds times);
* latency: --requests GET /api/leaderboard with no new votes (median, p99).

    .venv/bin/python benchmarks/bench_leaderboard.py [--votes 1000000] [--models 200]
        [--databases sqlite postgresql] [--rounds 10] [--requests 200]

Targets (issue 5): vote -> board under 2 s, median latency under 100 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from arena import services  # noqa: E402
from arena.config import load_settings  # noqa: E402
from arena.context import Arena  # noqa: E402
from arena.formats.answers import read_answer_set  # noqa: E402
from tests.utils.factories import write_answer_set  # noqa: E402
from tests.utils.postgres import fresh_postgres_database  # noqa: E402
from tests.utils.processes import arena_env, serving  # noqa: E402

BATTLE_COLUMNS = ("id", "anony", "mode", "model_a", "model_b", "category", "language",
                  "conversation_a", "conversation_b", "status", "voter_id", "created_at",
                  "identity_leak", "flagged", "style", "prompt_hash")
VOTE_COLUMNS = ("battle_id", "winner", "created_at")
WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
CHUNK = 50_000


def synthetic_rows(n: int, n_models: int, seed: int = 0):
    """Yield (battle_rows, vote_rows) chunks of a Bradley-Terry world. Nine votes in ten
    are live battles whose prompt key (arena.text.prompt_key) is the battle's own (a
    live arena's prompts are mostly distinct), or, for one in five, one of a thousand
    popular prompts drawn from a Zipf law (the commonest is two votes in five of those:
    the deduplicated board weighs it down)."""
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 1.0, n_models)
    conv_a = json.dumps([{"role": "user", "content": "Hi?"},
                         {"role": "assistant", "content": "Hello there."}])
    conv_b = json.dumps([{"role": "user", "content": "Hi?"},
                         {"role": "assistant", "content": "## Hello\n- a list"}])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    languages, categories = ("en", "en", "zh", "other"), ("writing", "coding", "math", None)
    for lo in range(0, n, CHUNK):
        k = min(CHUNK, n - lo)
        a = rng.integers(0, n_models, k)
        b = (a + rng.integers(1, n_models, k)) % n_models
        p = 1.0 / (1.0 + np.exp(strength[b] - strength[a]))
        u = rng.random(k)
        outcome = np.where(u < 0.12, 2 + (u < 0.03), np.where(rng.random(k) < p, 0, 1))
        lengths = rng.integers(5, 800, (k, 2))
        live = rng.random(k) < 0.9
        popular = np.where(rng.random(k) < 0.2, rng.zipf(1.5, k) % 1000, -1)
        battles, votes = [], []
        for j in range(k):
            bid = f"bench{lo + j:011d}"
            when = (start + timedelta(seconds=lo + j)).isoformat(sep=" ")
            style = json.dumps({"a": [int(lengths[j, 0]), 0, 1, 0],
                                "b": [int(lengths[j, 1]), 1, 0, 2], "turns": 1})
            prompt = (None if not live[j] else f"{popular[j]:064x}" if popular[j] >= 0
                      else hashlib.sha256(bid.encode()).hexdigest())
            battles.append((bid, bool(u[j] < 0.9), "live" if live[j] else "answers",
                            f"model-{a[j]:03d}", f"model-{b[j]:03d}", categories[j % 4],
                            languages[j % 4], conv_a, conv_b, "voted", "bench", when,
                            bool(u[j] > 0.995), False, style, prompt))
            votes.append((bid, WINNERS[outcome[j]], when))
        yield battles, votes


def load_sqlite(path: Path, n: int, n_models: int) -> None:
    connection = sqlite3.connect(path)
    bcols, vcols = ", ".join(BATTLE_COLUMNS), ", ".join(VOTE_COLUMNS)
    with connection:
        for battles, votes in synthetic_rows(n, n_models):
            connection.executemany(
                f"INSERT INTO battle ({bcols}) VALUES ({', '.join('?' * len(BATTLE_COLUMNS))})",
                battles)
            connection.executemany(f"INSERT INTO vote ({vcols}) VALUES (?, ?, ?)", votes)
    connection.close()


def load_postgres(url: str, n: int, n_models: int) -> None:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        for battles, votes in synthetic_rows(n, n_models):
            with cursor.copy(f"COPY battle ({', '.join(BATTLE_COLUMNS)}) FROM STDIN") as copy:
                for row in battles:
                    copy.write_row(row)
            with cursor.copy(f"COPY vote ({', '.join(VOTE_COLUMNS)}) FROM STDIN") as copy:
                for row in votes:
                    copy.write_row(row)
        connection.commit()
        cursor.execute("ANALYZE battle")  # as autovacuum would after a bulk load
        cursor.execute("ANALYZE vote")
        connection.commit()


def prepare(url: str, workdir: Path, n: int, n_models: int) -> float:
    arena = Arena.open(load_settings(database_url=url, battle={"load_demo": False}),
                       migrate=True)
    # Enough questions that the rounds' voter never runs out (no repeats for a voter).
    path = write_answer_set(workdir / "pair.jsonl", questions=50,
                            models=("model-000", "model-001"))
    with arena.session() as session:
        services.import_answer_set(session, read_answer_set(path))
    arena.close()
    started = time.perf_counter()
    if url.startswith("sqlite"):
        load_sqlite(Path(url.removeprefix("sqlite:///")), n, n_models)
    else:
        load_postgres(url, n, n_models)
    return time.perf_counter() - started


def votes_of(board: list[dict], models: set[str]) -> dict[str, int]:
    return {r["model"]: r["votes"] for r in board if r["model"] in models}


def measure(url: str, *, rounds: int, requests: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with httpx.Client(base_url=url, timeout=120) as api:
        started = time.perf_counter()
        api.get("/api/leaderboard").raise_for_status()
        out["cold_load_s"] = time.perf_counter() - started
        delays = []
        for _ in range(rounds):
            battle = api.post("/api/battles", json={}).json()  # the client's cookie: one voter
            pair = {"model-000", "model-001"}
            before = votes_of(api.get("/api/leaderboard").json(), pair)
            vote = api.post(f"/api/battles/{battle['battle_id']}/vote",
                            json={"winner": "model_a"})
            vote.raise_for_status()
            stored = time.perf_counter()
            while True:
                now = votes_of(api.get("/api/leaderboard").json(), pair)
                if all(now[m] == before[m] + 1 for m in pair):
                    break
            delays.append(time.perf_counter() - stored)
        out["vote_to_board_median_s"] = statistics.median(delays)
        out["vote_to_board_max_s"] = max(delays)
        latencies = []
        for _ in range(requests):
            started = time.perf_counter()
            api.get("/api/leaderboard").raise_for_status()
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        out["latency_median_ms"] = 1000 * statistics.median(latencies)
        out["latency_p99_ms"] = 1000 * latencies[min(len(latencies) - 1,
                                                     int(0.99 * len(latencies)))]
        started = time.perf_counter()
        api.get("/api/leaderboard", params={"language": "en"}).raise_for_status()
        out["first_language_view_s"] = time.perf_counter() - started
        started = time.perf_counter()
        api.get("/api/leaderboard", params={"style_control": "true"}).raise_for_status()
        out["first_style_view_s"] = time.perf_counter() - started
    return out


def board_parser(description: str, *, rounds: int, requests: int) -> argparse.ArgumentParser:
    """The options of the board benchmarks (this one and bench_scale)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--requests", type=int, default=requests)
    return parser


def main() -> None:
    parser = board_parser(__doc__.split("\n\n")[0], rounds=10, requests=200)
    args = parser.parse_args()
    for kind in args.databases:
        with ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = (f"sqlite:///{workdir / 'arena.db'}" if kind == "sqlite"
                   else stack.enter_context(fresh_postgres_database()))
            load_s = prepare(url, workdir, args.votes, args.models)
            # A script votes the moment a battle is shown, every round: the limits and
            # the too-fast rule are off for this benchmark, explicitly.
            env = arena_env(url, ARENA_BATTLE__LOAD_DEMO="false",
                            ARENA_BATTLE__ANSWER_SETS='["pair"]',
                            ARENA_LIMITS__ENABLED="false",
                            ARENA_LIMITS__TOO_FAST_MIN_SECONDS="0",
                            ARENA_LIMITS__TOO_FAST_SECONDS_PER_1000_CHARS="0")
            server = stack.enter_context(serving(workdir, env))
            result = {"database": kind, "votes": args.votes, "models": args.models,
                      "bulk_load_s": load_s, **measure(server, rounds=args.rounds,
                                                       requests=args.requests)}
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                              for k, v in result.items()}), flush=True)


if __name__ == "__main__":
    main()
