"""Streaming overhead of the arena: time to first token (TTFT) and total time seen by
a client through the arena's REST API (SSE) versus straight from the upstream.

The upstream is benchmarks/upstream.py (or, with --upstream fake, the tests'
tests/utils/fake_openai.py) in its own process, streaming --tokens tokens, one
server-sent event each, at a fixed rate; the arena is `arena serve` in its own
process with two live models pointing at it; this process is the client, on
the same cores. A "direct battle" opens the same two concurrent upstream streams
the arena opens. Each concurrency level runs direct, then through the arena, in
rounds of N battles started together.

What the arena adds:
- "TTFT vs direct": median TTFT through the arena minus median TTFT direct, in
  the same run (the target: < 50 ms at 1 battle, < 200 ms at 50);
- "total vs direct": median total time through the arena over direct;
- "added": per battle, the client's TTFT through the arena minus the upstream's
  TTFT as the arena itself measured it (stored with the battle): the time the
  arena spends before and after the upstream, battle by battle.

    .venv/bin/python benchmarks/bench_streaming.py [--tokens 200] [--token-delay 0.01]
        [--concurrency 1 50] [--rounds 20] [--upstream lean|fake] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from httpx_aiohttp import AiohttpTransport
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.utils.postgres import fresh_postgres_database  # noqa: E402
from tests.utils.server import free_port  # noqa: E402

Sample = tuple[float, float, str | None]  # ttft s, total s, battle id


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"process for {url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


async def read_stream(response: httpx.Response, started: float,
                      first_marker: bytes) -> tuple[float, float, bytes]:
    """(time to the first chunk holding *first_marker*, total time, the first 4 kB + last 4 kB).

    Reads raw chunks: this client shares the cores with the arena and the upstream,
    so it spends as little as it can per event, on both paths alike.
    """
    first = None
    head = tail = b""
    async for chunk in response.aiter_raw():
        if first is None and first_marker in chunk:
            first = time.perf_counter() - started
        if len(head) < 4096:
            head += chunk
        tail = (tail + chunk)[-4096:]
    return first or float("nan"), time.perf_counter() - started, head + tail


async def direct_stream(client: httpx.AsyncClient, upstream: str) -> tuple[float, float]:
    started = time.perf_counter()
    body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    async with client.stream("POST", f"{upstream}/chat/completions", json=body) as response:
        first, total, _ = await read_stream(response, started, b'"content"')
    return first, total


async def direct_battle(client: httpx.AsyncClient, upstream: str, _: int) -> Sample:
    sides = await asyncio.gather(direct_stream(client, upstream), direct_stream(client, upstream))
    return min(s[0] for s in sides), max(s[1] for s in sides), None


async def arena_battle(client: httpx.AsyncClient, arena: str, voter: int) -> Sample:
    started = time.perf_counter()
    async with client.stream("POST", f"{arena}/api/battles",
                             json={"prompt": "Hi", "stream": True}) as response:
        response.raise_for_status()
        first, total, seen = await read_stream(response, started, b"event: delta")
    if b'"status":"failed"' in seen:
        raise SystemExit(f"battle failed: {seen[-600:]!r}")
    battle_id = json.loads(seen.split(b"\n", 2)[1].removeprefix(b"data: "))["battle_id"]
    return first, total, battle_id


async def measure(kind: str, url: str, concurrency: int, rounds: int) -> list[Sample]:
    """*rounds* rounds of *concurrency* battles at once, after one uncounted warm-up round.

    The client keeps connections alive and reads through httpx-aiohttp's transport,
    as the arena does upstream, so that the client costs the same per event on
    both paths and as little as possible.
    """
    battle = direct_battle if kind == "direct" else arena_battle
    limits = httpx.Limits(max_connections=4 * concurrency + 10, keepalive_expiry=60)
    results: list[Sample] = []
    transport = AiohttpTransport(limits=limits)
    async with httpx.AsyncClient(timeout=120, transport=transport) as client:
        for number in range(rounds + 1):
            batch = [battle(client, url, number * concurrency + i) for i in range(concurrency)]
            measured = await asyncio.gather(*batch)
            if number:
                results.extend(measured)
    return results


def upstream_ttft_ms(database_url: str) -> dict[str, float]:
    """Each battle's upstream TTFT (first of its two sides) as the arena measured it."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, stats FROM battle")).all()
    engine.dispose()
    result = {}
    for battle_id, stats in rows:
        stats = json.loads(stats) if isinstance(stats, str) else stats
        firsts = [stats[side][0]["ttft_ms"] for side in ("a", "b") if stats and stats[side]]
        if firsts and None not in firsts:
            result[battle_id] = min(firsts)
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(len(ordered) * share) - 1)]


def summary(samples: list[Sample]) -> dict[str, float]:
    ttft = [s[0] * 1000 for s in samples]
    total = [s[1] * 1000 for s in samples]
    return {"ttft_median": statistics.median(ttft), "ttft_p95": percentile(ttft, 0.95),
            "total_median": statistics.median(total), "total_p95": percentile(total, 0.95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--token-delay", type=float, default=0.01)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--rounds", type=int, default=20,
                        help="battles in a row at concurrency 1; rounds/4 (min 2) rounds above")
    parser.add_argument("--upstream", choices=["lean", "fake"], default="lean",
                        help="lean: benchmarks/upstream.py (raw asyncio, little CPU); "
                             "fake: tests/utils/fake_openai.py (uvicorn + Starlette)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                        help="sqlite: a file in a temporary folder; postgresql: a new database "
                             "on ARENA_TEST_POSTGRES_URL's server (default 127.0.0.1:5432)")
    args = parser.parse_args()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-streaming-")))
        database_url = (f"sqlite:///{work / 'bench.db'}" if args.database == "sqlite"
                        else stack.enter_context(fresh_postgres_database()))
        run(args, work, database_url)


def run(args: argparse.Namespace, work: Path, database_url: str) -> None:
    upstream_port, arena_port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{upstream_port}/v1"
    config = work / "arena.toml"
    models = "".join(
        f'[[models]]\nname = "bench-{side}"\nbase_url = "{upstream}"\nmodel = "bench"\n'
        f"first_token_timeout = 30\nstall_timeout = 30\n\n" for side in ("one", "two"))
    # Limits off, explicitly: one client opens every battle (a voter would be refused).
    config.write_text(f'database_url = "{database_url}"\n[battle]\nload_demo = false\n'
                      f'[limits]\nenabled = false\n\n{models}')
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(REPO)}
    env.pop("ARENA_DATABASE_URL", None)
    server = (["benchmarks/upstream.py"] if args.upstream == "lean"
              else ["-m", "tests.utils.fake_openai"])
    fake = subprocess.Popen(
        [sys.executable, *server, "--port", str(upstream_port),
         "--tokens", str(args.tokens), "--token-delay", str(args.token_delay)],
        cwd=REPO, env=env)
    arena = subprocess.Popen(
        [sys.executable, "-m", "arena", "serve", "--port", str(arena_port), "--config",
         str(config)], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    arena_url = f"http://127.0.0.1:{arena_port}"
    try:
        wait_until_up(f"http://127.0.0.1:{upstream_port}/", fake)
        wait_until_up(f"{arena_url}/healthz", arena)
        print(f"upstream: {args.tokens} tokens at {1 / args.token_delay:.0f} tokens/s per stream;"
              f" arena: `arena serve` on {database_url.split(':')[0]}; {os.cpu_count()} cores")
        print(f"{'battles':>7} {'path':>6} {'n':>4} {'TTFT med':>9} {'TTFT p95':>9} "
              f"{'total med':>10} {'total p95':>10}  {'TTFT vs direct':>14} "
              f"{'total vs direct':>15}  added TTFT med / p95")
        for concurrency in args.concurrency:
            rounds = args.rounds if concurrency == 1 else max(2, args.rounds // 4)
            direct_samples = asyncio.run(measure("direct", upstream, concurrency, rounds))
            arena_samples = asyncio.run(measure("arena", arena_url, concurrency, rounds))
            upstream_ttft = upstream_ttft_ms(database_url)
            added = [s[0] * 1000 - upstream_ttft[s[2]] for s in arena_samples
                     if s[2] in upstream_ttft]
            direct, through = summary(direct_samples), summary(arena_samples)
            for name, row in (("direct", direct), ("arena", through)):
                extra = ""
                if name == "arena":
                    delta = row["ttft_median"] - direct["ttft_median"]
                    ratio = row["total_median"] / direct["total_median"]
                    extra = (f"  {delta:>+12.1f}ms {ratio:>14.3f}x  "
                             f"{statistics.median(added):.1f} ms / "
                             f"{percentile(added, 0.95):.1f} ms")
                print(f"{concurrency:>7} {name:>6} {len(direct_samples):>4} "
                      f"{row['ttft_median']:>7.1f}ms {row['ttft_p95']:>7.1f}ms "
                      f"{row['total_median']:>8.1f}ms {row['total_p95']:>8.1f}ms{extra}")
    finally:
        for process in (arena, fake):
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
