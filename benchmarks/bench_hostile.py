"""Does a bad request stall everyone? /healthz latency while another client sends them.

Starts one `arena serve` child process on a SQLite file, then measures GET /healthz
from one client (one kept-alive connection, a request due every --interval seconds,
each timed from when it was due, so that a stall counts for every request it holds up):

* quiet: with nothing else going on;
* hostile: while --attackers other processes send --rate bad requests a second
  (0: back to back), round robin: a 5 MB JSON body (an array of small objects) to
  POST /api/battles, 1.1 MB of nested JSON arrays (over the body limit), 240 KB of
  nested arrays (under it), a 1 MB request header, a 250 KB array of small objects
  and a 240 KB object of 4,000 unknown fields (just under the limit, invalid) to
  POST /api/battles, and a 240 KB invalid body to Gradio's /gradio_api/queue/join.

The two phases alternate in --blocks blocks each (a shared machine's own load falls on
both alike); a quiet block starts once no bad request is in flight. It prints
p50/p99/max of both phases, their ratio, and per kind of bad request how
many were sent, their status codes and median time to the answer.

    .venv/bin/python benchmarks/bench_hostile.py [--requests 1200] [--interval 0.05]
        [--attackers 2] [--rate 10] [--blocks 6]
        [--code DIR]   # serve the arena from another checkout (e.g. the code before a change)

Target (issue 11): /healthz p99 under 50 ms during the bad requests.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.utils.processes import arena_env, serving_process  # noqa: E402

# Limits off, explicitly: one client sends every request, as no voter would; this
# measures what the server does with a request's size and shape, not the vote limits.
CONFIG = """\
limits.enabled = false
battle.load_demo = true
"""


def bad_requests() -> list[tuple[str, str, str, bytes]]:
    """(kind, method, path, body); the kind "header" is sent raw, with no body."""
    five_mb = json.dumps([{"question": "q", "n": 1}] * 200_000).encode()
    nested_over = b"[" * 550_000 + b"]" * 550_000
    nested_under = b"[" * 120_000 + b"]" * 120_000
    objects_under = json.dumps([{"a": 1}] * 25_000).encode()
    fields_under = json.dumps({f"field_{i:05d}": "x" * 40 for i in range(4_000)}).encode()
    gradio_under = json.dumps({"data": ["x" * 200] * 1_100, "fn_index": "nope"}).encode()
    return [
        ("5 MB array of objects", "POST", "/api/battles", five_mb),
        ("1.1 MB nested arrays", "POST", "/api/battles", nested_over),
        ("240 KB nested arrays", "POST", "/api/battles", nested_under),
        ("1 MB header", "GET", "/healthz", b""),
        ("250 KB array of objects", "POST", "/api/battles", objects_under),
        ("240 KB of unknown fields", "POST", "/api/battles", fields_under),
        ("240 KB invalid Gradio join", "POST", "/gradio_api/queue/join", gradio_under),
    ]


def send_huge_header(url: str) -> int:
    host, port = url.removeprefix("http://").split(":")
    head = b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Padding: " + b"a" * 1024 * 1024 + b"\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        try:
            sock.sendall(head)
        except OSError:
            pass  # refused and closed before the whole head was sent
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def attack(url: str, requests: list[tuple[str, str, str, bytes]], interval: float,
           attacking, idle, stop, results) -> None:
    """While *attacking* is set, send the bad requests round robin, one every *interval*
    seconds (0: back to back); put our pid on *idle* whenever we pause (nothing of ours
    in flight). Until *stop*; then put the (kind, status, seconds) rows on *results*."""
    rows = []
    with httpx.Client(base_url=url, timeout=120,
                      headers={"content-type": "application/json"}) as client:
        number = 0
        while not stop.is_set():
            if not attacking.is_set():
                idle.put(os.getpid())
                while not attacking.wait(0.05) and not stop.is_set():
                    pass
                due = time.monotonic()
                continue
            due += interval
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            kind, method, path, body = requests[number % len(requests)]
            number += 1
            started = time.perf_counter()
            try:
                if kind == "1 MB header":
                    status = send_huge_header(url)
                else:
                    status = client.request(method, path, content=body).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            rows.append((kind, status, time.perf_counter() - started))
    results.put(rows)


def measure(url: str, requests: int, interval: float, max_seconds: float) -> list[float]:
    """Latencies (ms) of GET /healthz due every *interval* seconds on one kept-alive
    connection, each counted from when it was due: a request held up by a stalled
    server counts the wait too (no coordinated omission), as a voter's would."""
    latencies = []
    with httpx.Client(base_url=url, timeout=120) as client:
        client.get("/healthz")
        start = time.perf_counter()
        for number in range(requests):
            due = start + number * interval
            if (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            answer = client.get("/healthz")
            latencies.append((time.perf_counter() - due) * 1000)
            if answer.status_code != 200:
                raise SystemExit(f"/healthz answered {answer.status_code}")
            if time.perf_counter() - start > max_seconds:
                break
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * share) - 1))]


def describe(name: str, latencies: list[float]) -> str:
    return (f"{name:>8} {len(latencies):>6} {statistics.median(latencies):>8.1f} "
            f"{percentile(latencies, 0.99):>8.1f} {max(latencies):>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1200, help="/healthz per phase")
    parser.add_argument("--attackers", type=int, default=2, help="processes sending bad requests")
    parser.add_argument("--interval", type=float, default=0.05,
                        help="seconds between /healthz requests (each timed from when due)")
    parser.add_argument("--blocks", type=int, default=6,
                        help="quiet and hostile blocks, alternating (a busy machine's own "
                             "noise falls on both alike)")
    parser.add_argument("--rate", type=float, default=10,
                        help="bad requests per second, all attackers together (0: as fast "
                             "as the server answers: a flood, which shares the CPU with "
                             "everything else)")
    parser.add_argument("--max-seconds", type=float, default=240, help="per phase, at most")
    parser.add_argument("--code", type=Path, default=REPO,
                        help="the checkout whose `arena` is served (default: this one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as folder:
        work = Path(folder)
        (work / "arena.toml").write_text(CONFIG)
        env = arena_env(f"sqlite:///{work / 'arena.db'}", ARENA_CONFIG=str(work / "arena.toml"),
                        PYTHONPATH=str(args.code.resolve()))
        with serving_process(work, env) as served:
            run(served.url, args)


def run(url: str, args: argparse.Namespace) -> None:
    rate = f"{args.rate:g} bad requests/s" if args.rate else "bad requests back to back"
    print(f"arena serve from {args.code}: SQLite, one process; {os.cpu_count()} cores; "
          f"{args.attackers} attacker processes, {rate}; {args.blocks} quiet and "
          f"{args.blocks} hostile blocks, alternating")
    requests = bad_requests()
    attacking, stop = multiprocessing.Event(), multiprocessing.Event()
    idle: multiprocessing.Queue = multiprocessing.Queue()
    results: multiprocessing.Queue = multiprocessing.Queue()
    interval = args.attackers / args.rate if args.rate else 0.0
    attackers = [multiprocessing.Process(
        target=attack, args=(url, requests, interval, attacking, idle, stop, results))
        for _ in range(args.attackers)]
    for process in attackers:
        process.start()
    quiet: list[float] = []
    hostile: list[float] = []
    per_block = max(1, args.requests // args.blocks)
    for block in range(2 * args.blocks):
        if block % 2:
            attacking.set()
        else:  # quiet: once no bad request is in flight (a stalled server has caught up)
            attacking.clear()
            for _ in attackers:
                idle.get(timeout=600)
        (hostile if block % 2 else quiet).extend(
            measure(url, per_block, args.interval, args.max_seconds / args.blocks))
    stop.set()
    rows = [row for _ in attackers for row in results.get(timeout=600)]
    for process in attackers:
        process.join(timeout=60)
    print(f"\n{'/healthz':>8} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(describe("quiet", quiet))
    print(describe("hostile", hostile))
    print(f"ratio hostile/quiet: p50 {statistics.median(hostile) / statistics.median(quiet):.2f}x,"
          f" p99 {percentile(hostile, 0.99) / percentile(quiet, 0.99):.2f}x;"
          f" target p99 < 50 ms: {'met' if percentile(hostile, 0.99) < 50 else 'NOT met'}")
    by_kind: dict[str, list[tuple[object, float]]] = defaultdict(list)
    for kind, status, seconds in rows:
        by_kind[kind].append((status, seconds))
    print(f"\n{'bad request':<28} {'sent':>5} {'median ms':>10}  statuses")
    for kind, _, _, _ in requests:
        sent = by_kind.get(kind, [])
        if not sent:
            print(f"{kind:<28} {0:>5}")
            continue
        statuses = defaultdict(int)
        for status, _ in sent:
            statuses[status] += 1
        median = statistics.median(seconds for _, seconds in sent) * 1000
        print(f"{kind:<28} {len(sent):>5} {median:>10.1f}  "
              + ", ".join(f"{status}: {count}" for status, count in sorted(
                  statuses.items(), key=lambda item: str(item[0]))))


if __name__ == "__main__":
    main()
