"""Export and import benchmark: N votes with conversations, SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_export.py                 # 1,000,000 votes
    .venv/bin/python benchmarks/bench_export.py --votes 20000   # a quick run

Votes are bulk-inserted (SQLite executemany, PostgreSQL COPY) into a freshly
migrated database; each export then runs as ``arena export votes`` in a child
process, timed, with the peak RSS of its processes together (an export of many votes
runs worker processes). Then each file of
``--import-formats`` (default: the JSONL export) is imported with ``arena import
votes`` into a second, empty database of the same backend, timed the same way.
Targets (issue 15): export >= 50,000 votes/s with peak < 500 MB; import of
1,000,000 votes < 60 s.
PostgreSQL: ``--postgres-url`` (a server where a scratch database may be created;
default ARENA_TEST_POSTGRES_URL or postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from arena.config import load_settings  # noqa: E402
from arena.context import Arena  # noqa: E402
from arena.formats.votes import FORMATS  # noqa: E402
from tests.utils.postgres import fresh_postgres_database  # noqa: E402

MODELS = [f"bench-model-{k:02d}" for k in range(24)]
WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
CHUNK = 20_000
START = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_MB = 500
TARGET_EXPORT_RATE = 50_000  # votes/s
TARGET_IMPORT_SECONDS_PER_MILLION = 60


def conversation(k: int, side: str) -> str:
    prompt = f"Question {k}: explain how a hash map handles collisions, with an example."
    answer = (
        f"Answer {side}{k}: a hash map stores keys in buckets chosen by a hash; "
        "when two keys land in one bucket it chains them in a list or probes for "
        "the next free slot. Example: inserting 'cat' and 'act' with a weak hash..."
    )
    return json.dumps(
        [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
    )


def rows(n: int) -> Iterator[tuple[tuple, tuple]]:
    for k in range(n):
        a = MODELS[k % len(MODELS)]
        b = MODELS[(k * 7 + 1 + k // len(MODELS)) % len(MODELS)]
        if a == b:
            b = MODELS[(MODELS.index(a) + 1) % len(MODELS)]
        when = START + timedelta(seconds=k * 7)
        battle_id = f"{k:032x}"
        battle = (
            battle_id,
            k % 5 != 0,
            "answers",
            a,
            b,
            "bench",
            f"q{k % 500}",
            "general",
            "en",
            conversation(k, "a"),
            conversation(k, "b"),
            "voted",
            f"voter-{k % 40_000:08d}",
            secrets.token_hex(16),
            "en",
            when,
            False,
            False,
        )
        vote = (battle_id, WINNERS[k % 4], battle[13], "en", when)
        yield battle, vote


BATTLE_COLUMNS = (
    "id, anony, mode, model_a, model_b, answer_set, question_id, category, "
    "language, conversation_a, conversation_b, status, voter_id, ip_hash, "
    "ui_language, created_at, identity_leak, flagged"
)
VOTE_COLUMNS = "battle_id, winner, ip_hash, ui_language, created_at"


def fill(arena: Arena, n: int) -> None:
    raw = arena.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if arena.engine.dialect.name == "sqlite":
            cursor.execute("BEGIN")
        cursor.executemany(
            "INSERT INTO arena_model (name, created_at, consecutive_failures) VALUES (?, ?, 0)"
            if arena.engine.dialect.name == "sqlite"
            else "INSERT INTO arena_model (name, created_at, consecutive_failures) "
            "VALUES (%s, %s, 0)",
            [(m, START) for m in MODELS],
        )
        if arena.engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY battle ({BATTLE_COLUMNS}) FROM STDIN") as battles:
                for battle, _ in rows(n):
                    battles.write_row(battle)
            with cursor.copy(f"COPY vote ({VOTE_COLUMNS}) FROM STDIN") as votes:
                for _, vote in rows(n):
                    votes.write_row(vote)
        else:
            marks_b, marks_v = ",".join("?" * 18), ",".join("?" * 5)
            batch_b: list[tuple] = []
            batch_v: list[tuple] = []
            for battle, vote in rows(n):
                fmt = battle[15].strftime("%Y-%m-%d %H:%M:%S.%f")
                batch_b.append((*battle[:15], fmt, *battle[16:]))
                batch_v.append((*vote[:4], fmt))
                if len(batch_b) >= CHUNK:
                    cursor.executemany(
                        f"INSERT INTO battle ({BATTLE_COLUMNS}) VALUES ({marks_b})", batch_b
                    )
                    cursor.executemany(
                        f"INSERT INTO vote ({VOTE_COLUMNS}) VALUES ({marks_v})", batch_v
                    )
                    batch_b, batch_v = [], []
            if batch_b:
                cursor.executemany(
                    f"INSERT INTO battle ({BATTLE_COLUMNS}) VALUES ({marks_b})", batch_b
                )
                cursor.executemany(f"INSERT INTO vote ({VOTE_COLUMNS}) VALUES ({marks_v})", batch_v)
        raw.commit()
        if arena.engine.dialect.name == "postgresql":
            cursor.execute("ANALYZE")  # as autovacuum would soon after a bulk load
            raw.commit()
    finally:
        raw.close()


def tree_rss_mb(pid: int) -> float:
    """RSS of *pid* and its descendants (an export's worker processes), MB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text()
        except OSError:
            continue
        if "VmRSS:" in status:  # not in an exited process's
            total += int(status.split("VmRSS:")[1].split()[0])
        todo += map(int, children.split())
    return total / 1024


def run_arena(url: str, *args: str) -> tuple[float, float, int]:
    """Seconds, peak RSS (MB: of all its processes together, sampled every 0.2 s, or
    of the largest one from ``os.wait4`` if more) and exit status of one `arena ...`
    child."""
    env = {
        **os.environ,
        "ARENA_DATABASE_URL": url,
        "ARENA_SECRET_SALT": "bench-salt",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
    }
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "arena", *args], env=env, cwd=REPO, stdout=subprocess.DEVNULL
    )
    together = 0.0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        together = max(together, tree_rss_mb(child.pid))
        time.sleep(0.2)
    child.returncode = os.waitstatus_to_exitcode(status)
    return (time.perf_counter() - started, max(together, usage.ru_maxrss / 1024),
            child.returncode)


def run_export(url: str, fmt: str, out: Path) -> tuple[float, float, int]:
    return run_arena(
        url, "export", "votes", "--format", fmt, "--out", str(out), "--include-flagged"
    )


def run_import(url: str, path: Path) -> tuple[float, float, int]:
    Arena.open(
        load_settings(database_url=url, secret_salt="bench-salt", battle={"load_demo": False}),
        migrate=True,
    ).close()
    return run_arena(url, "import", "votes", str(path), "--source", "bench")


@contextmanager
def empty_database(label: str, workdir: Path, fmt: str) -> Iterator[str]:
    """A second, empty database on the same backend, for an import."""
    if label == "sqlite":
        path = workdir / f"import-{fmt}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in workdir.glob(f"{path.name}*"):
                leftover.unlink()
    else:
        with fresh_postgres_database() as url:
            yield url


def bench(
    label: str, url: str, n: int, formats: list[str], imports: list[str], workdir: Path
) -> list[str]:
    arena = Arena.open(
        load_settings(database_url=url, secret_salt="bench-salt", battle={"load_demo": False}),
        migrate=True,
    )
    started = time.perf_counter()
    fill(arena, n)
    arena.close()
    lines = [f"{label}: inserted {n:,} votes in {time.perf_counter() - started:.1f} s"]
    for fmt in formats:
        out = workdir / f"{label}.{fmt}"
        seconds, peak, code = run_export(url, fmt, out)
        size = out.stat().st_size / 1e6 if out.exists() else 0.0
        flag = (
            "ok" if code == 0 and peak < TARGET_MB and n / seconds >= TARGET_EXPORT_RATE else "FAIL"
        )
        lines.append(
            f"  {fmt:<8} {seconds:7.1f} s  {n / seconds:9,.0f} votes/s  "
            f"peak {peak:6.0f} MB  file {size:8.1f} MB  {flag}"
        )
        print(lines[-1], flush=True)
        if fmt not in imports:
            out.unlink(missing_ok=True)
    for fmt in imports:
        path = workdir / f"{label}.{fmt}"
        if not path.exists():
            code = run_export(url, fmt, path)[2]
            if code != 0:
                lines.append(f"  import {fmt}: the export failed ({code})")
                continue
        with empty_database(label, workdir, fmt) as target:
            seconds, peak, code = run_import(target, path)
        limit = TARGET_IMPORT_SECONDS_PER_MILLION * n / 1_000_000
        flag = "ok" if code == 0 and seconds < limit else "FAIL"
        lines.append(
            f"  import {fmt:<8} {seconds:7.1f} s  {n / seconds:9,.0f} votes/s  "
            f"peak {peak:6.0f} MB  {flag}"
        )
        print(lines[-1], flush=True)
        path.unlink(missing_ok=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--import-formats", default="jsonl", help="files to import (comma-separated; '' none)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "ARENA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    formats = args.formats.split(",")
    imports = [f for f in args.import_formats.split(",") if f]
    report: list[str] = []
    with tempfile.TemporaryDirectory(prefix="arena-bench-") as tmp:
        workdir = Path(tmp)
        for backend in args.backends.split(","):
            print(f"{backend}: inserting {args.votes:,} votes...", flush=True)
            if backend == "sqlite":
                report += bench(
                    "sqlite",
                    f"sqlite:///{workdir / 'bench.db'}",
                    args.votes,
                    formats,
                    imports,
                    workdir,
                )
            else:
                os.environ["ARENA_TEST_POSTGRES_URL"] = args.postgres_url
                with fresh_postgres_database() as url:
                    report += bench("postgresql", url, args.votes, formats, imports, workdir)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    report.append(f"load average at the end (1 / 5 / 15 min): {load} on {os.cpu_count()} cores")
    print("\n".join(report))


if __name__ == "__main__":
    main()
