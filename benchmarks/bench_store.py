"""One process's vote store at scale, in-process (no server, no Gradio): time and peak
memory of a read of every vote, of a start from the stored segments, and of the first
public and style-controlled boards after each; for this checkout and, side by side, a
peer checkout (an older commit: `git worktree add /tmp/peer <commit>`).

    .venv/bin/python benchmarks/bench_store.py --votes 1000000
    .venv/bin/python benchmarks/bench_store.py --votes 10000000 --peer /tmp/peer

Loads --votes votes among 200 models into a scratch PostgreSQL database (bench_leaderboard's
synthetic world: nine votes in ten from live prompts, mostly distinct), then for each
checkout: clears the segments, reads every vote and stores segments (*full*), and starts a
fresh process from those segments (*cold*). Each step runs in a process of its own, which
imports `arena` from its checkout; peak memory is its VmHWM. Prints one JSON line per
checkout and the peer / this ratios. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

STEP = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from arena.config import load_settings
from arena.context import Arena
from arena.services.board_segments import chain_end
from arena.services.leaderboard import LeaderboardCache, View

def peak():
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(x for x in status if x.startswith("VmHWM:")).split()[1]) // 1024

arena = Arena.open(load_settings(database_url={url!r}, battle={{"load_demo": False}}))
out = {{"imports_mb": peak()}}
full = {phase!r} == "full"
cache = LeaderboardCache(arena.engine, write_engine=arena.engine if full else None)
cache.store.settle_seconds = 0.0
started = time.perf_counter()
snap = cache.store.sync()
out.update(load_s=time.perf_counter() - started, votes=snap.n, load_peak_mb=peak())
started = time.perf_counter()
board = cache.board(View())
out.update(board_s=time.perf_counter() - started)
started = time.perf_counter()
cache.board(View(style_control=True))
out.update(style_s=time.perf_counter() - started, peak_mb=peak())
while full:
    cache.store.sync()
    with arena.read_session() as session:
        if chain_end(session) >= snap.n - cache.store.segment_votes:
            break
    time.sleep(0.2)
out["top"] = [[r.model, round(r.rating, 6)] for r in board.rows[:5]]
print(json.dumps(out))
"""


def step(root: Path, url: str, phase: str) -> dict[str, object]:
    code = STEP.format(root=str(root), url=url, phase=phase)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, cwd=tempfile.gettempdir())
    if done.returncode:
        raise SystemExit(f"{phase} step of {root} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(root: Path, url: str) -> dict[str, object]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM board_segment"))
    engine.dispose()
    full, cold = step(root, url, "full"), step(root, url, "cold")
    return {"checkout": str(root), **{f"full_{k}": v for k, v in full.items()},
            **{f"cold_{k}": v for k, v in cold.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--peer", type=Path, help="another checkout, measured beside this one")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from benchmarks.bench_leaderboard import prepare
    from tests.utils.postgres import fresh_postgres_database

    with fresh_postgres_database() as url, tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        prepare(url, Path(workdir), args.votes, args.models)
        print(json.dumps({"votes": args.votes, "load_s": round(time.perf_counter() - started, 1)}),
              flush=True)
        results = [measure(REPO, url)]
        if args.peer:
            results.append(measure(args.peer.resolve(), url))
        for result in results:
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                              for k, v in result.items()}), flush=True)
        if args.peer:
            this, peer = results
            if this["cold_top"] != peer["cold_top"]:
                print("the two checkouts' boards differ", flush=True)
            print(json.dumps({f"{k} peer/this": round(peer[k] / this[k], 2) for k in this
                              if isinstance(this[k], float | int) and this[k]
                              and isinstance(peer[k], float | int)}), flush=True)


if __name__ == "__main__":
    main()
