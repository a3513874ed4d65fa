"""Streaming overhead of the arena: time to first token and total time, through the
arena's REST API (SSE) versus straight from the upstream, in the same run.

The upstream is tests/utils/fake_openai.py in its own process, streaming --tokens
tokens at a fixed rate; the arena is `arena serve` in its own process with two
live models pointing at it; this process is the client. A "battle" direct means
the same two concurrent upstream streams the arena opens, so the upstream load
is the same on both paths.

    .venv/bin/python benchmarks/bench_streaming.py [--tokens 200] [--token-delay 0.01]
        [--concurrency 1 50] [--rounds 20] [--database-url URL]
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
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.utils.server import free_port  # noqa: E402


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


async def direct_stream(client: httpx.AsyncClient, upstream: str) -> tuple[float, float]:
    started = time.perf_counter()
    first = None
    body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    async with client.stream("POST", f"{upstream}/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if first is None and line.startswith("data: {") and '"content"' in line:
                first = time.perf_counter() - started
    return first or float("nan"), time.perf_counter() - started


async def direct_battle(client: httpx.AsyncClient, upstream: str) -> tuple[float, float]:
    sides = await asyncio.gather(direct_stream(client, upstream), direct_stream(client, upstream))
    return min(s[0] for s in sides), max(s[1] for s in sides)


async def arena_battle(client: httpx.AsyncClient, arena: str, voter: int) -> tuple[float, float]:
    started = time.perf_counter()
    first = None
    headers = {"X-Voter-Id": f"bench-voter-{voter:05d}"}
    async with client.stream(
        "POST", f"{arena}/api/battles", headers=headers, json={"prompt": "Hi", "stream": True}
    ) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if first is None and line == "event: delta":
                first = time.perf_counter() - started
            if line.startswith("data: ") and '"status": "failed"' in line:
                raise SystemExit(f"battle failed: {line[:300]}")
    return first or float("nan"), time.perf_counter() - started


async def measure(kind: str, url: str, concurrency: int, rounds: int) -> list[tuple[float, float]]:
    limits = httpx.Limits(max_connections=4 * concurrency + 10)
    results: list[tuple[float, float]] = []
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        for number in range(rounds):
            if kind == "direct":
                batch = [direct_battle(client, url) for _ in range(concurrency)]
            else:
                batch = [
                    arena_battle(client, url, number * concurrency + i) for i in range(concurrency)
                ]
            results.extend(await asyncio.gather(*batch))
    return results


def summary(samples: list[tuple[float, float]]) -> dict[str, float]:
    ttft = sorted(s[0] * 1000 for s in samples)
    total = sorted(s[1] * 1000 for s in samples)
    p95 = max(0, int(len(ttft) * 0.95) - 1)
    return {
        "ttft_median": statistics.median(ttft),
        "ttft_p95": ttft[p95],
        "total_median": statistics.median(total),
        "total_p95": total[p95],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--token-delay", type=float, default=0.01)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50])
    parser.add_argument(
        "--rounds",
        type=int,
        default=20,
        help="battles in a row at concurrency 1; rounds/10 (min 2) above",
    )
    parser.add_argument(
        "--database-url", default=None, help="default: a SQLite file in a temporary folder"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-streaming-"))
    upstream_port, arena_port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{upstream_port}/v1"
    config = work / "arena.toml"
    models = "".join(
        f'[[models]]\nname = "bench-{side}"\nbase_url = "{upstream}"\nmodel = "bench"\n'
        f"first_token_timeout = 30\nstall_timeout = 30\n\n"
        for side in ("one", "two")
    )
    config.write_text(
        f'database_url = "{args.database_url or "sqlite:///" + str(work / "b.db")}"'
        f"\n[battle]\nload_demo = false\n\n{models}"
    )
    env = {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
    }
    env.pop("ARENA_DATABASE_URL", None)
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.utils.fake_openai",
            "--port",
            str(upstream_port),
            "--tokens",
            str(args.tokens),
            "--token-delay",
            str(args.token_delay),
        ],
        cwd=REPO,
        env=env,
    )
    arena = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arena",
            "serve",
            "--port",
            str(arena_port),
            "--config",
            str(config),
        ],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    arena_url = f"http://127.0.0.1:{arena_port}"
    try:
        wait_until_up(f"http://127.0.0.1:{upstream_port}/", fake)
        wait_until_up(f"{arena_url}/healthz", arena)
        asyncio.run(measure("arena", arena_url, 2, 1))  # warm-up
        print(
            f"upstream: {args.tokens} tokens at {1 / args.token_delay:.0f} tokens/s per stream;"
            f" arena: `arena serve` ({'SQLite' if not args.database_url else args.database_url})"
        )
        print(
            f"{'battles':>8} {'path':>7} {'n':>5} {'TTFT med':>9} {'TTFT p95':>9} "
            f"{'total med':>10} {'total p95':>10}   added TTFT (median)"
        )
        for concurrency in args.concurrency:
            rounds = args.rounds if concurrency == 1 else max(2, args.rounds // 10)
            direct = summary(asyncio.run(measure("direct", upstream, concurrency, rounds)))
            through = summary(asyncio.run(measure("arena", arena_url, concurrency, rounds)))
            for name, row in (("direct", direct), ("arena", through)):
                added = (
                    ""
                    if name == "direct"
                    else f"   +{row['ttft_median'] - direct['ttft_median']:.1f} ms "
                    f"({row['ttft_median'] / direct['ttft_median']:.2f}x)"
                )
                print(
                    f"{concurrency:>8} {name:>7} {rounds * concurrency:>5} "
                    f"{row['ttft_median']:>7.1f}ms {row['ttft_p95']:>7.1f}ms "
                    f"{row['total_median']:>8.1f}ms {row['total_p95']:>8.1f}ms{added}"
                )
        print(json.dumps({"tokens": args.tokens, "token_delay": args.token_delay}))
    finally:
        for process in (arena, fake):
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
