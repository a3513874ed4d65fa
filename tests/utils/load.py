"""Concurrent REST voters against one URL: start a battle, read, vote; every request kept.

Used by the deployment fault tests and benchmarks/load_test.py. Each voter is a
browser of its own (its own cookie jar, so its own voter id and sticky process).
Bounded in count (`pairs` per voter) and in time (`deadline`); loopback only.
"""

from __future__ import annotations

import asyncio
import functools
import random
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
UPSTREAM_HEADER = "x-arena-upstream"
RETRY_PAUSE = 0.05  # after a failed battle start, so a voter does not spin during an outage


@dataclass
class Request:
    kind: str  # "battle" or "vote"
    voter: int
    start: float
    latency: float
    status: int | None  # None: no HTTP answer (connection error, timeout)
    battle_id: str | None = None
    upstream: str | None = None  # X-Arena-Upstream when the stack sends it
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in (200, 201)


@dataclass
class LoadResult:
    requests: list[Request] = field(default_factory=list)
    wall: float = 0.0
    midway_at: float | None = None  # when the midway action started (monotonic)
    midway_done: float | None = None

    def of(self, kind: str) -> list[Request]:
        return [r for r in self.requests if r.kind == kind]

    def acknowledged_votes(self) -> set[str]:
        return {r.battle_id for r in self.of("vote") if r.status == 200 and r.battle_id}

    def uncertain_votes(self) -> set[str]:
        """Votes whose request died (no answer, or a 5xx): stored or not, nobody was told."""
        return {r.battle_id for r in self.of("vote")
                if (r.status is None or r.status >= 500) and r.battle_id}

    def errors(self) -> list[Request]:
        return [r for r in self.requests if not r.ok]

    def pairs(self) -> int:
        return len(self.acknowledged_votes())


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def voter_client(**options: Any) -> httpx.AsyncClient:
    """A client for one simulated voter, sharing one TLS context with the others.

    httpx builds a TLS context for every client (loading the CA bundle: ~20 ms of
    CPU) even for http:// URLs; with a client per voter that was a third of a load
    test's client CPU, on the cores the servers share."""
    return httpx.AsyncClient(verify=_tls_context(), **options)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def run_voters(url: str, *, voters: int, pairs: int, read_delay: float = 0.0,
                     deadline: float = 120.0, midway: Callable[[], object] | None = None,
                     pairs_after_midway: int = 0, timeout: float = 30.0) -> LoadResult:
    """*voters* concurrent voters, *pairs* battle→vote each (fewer if *deadline* s pass).

    *midway* (blocking; run in a thread) starts once half of all planned pairs were
    attempted, while the voters go on; then each voter goes on until *midway* has
    returned and it has voted *pairs_after_midway* more times (started after it returned).
    """
    result = LoadResult()
    started = time.monotonic()
    stop_at = started + deadline
    attempted = 0
    midway_task: asyncio.Future[object] | None = None
    loop = asyncio.get_running_loop()

    def run_midway() -> object:
        result.midway_at = time.monotonic()
        try:
            return midway() if midway else None
        finally:
            result.midway_done = time.monotonic()

    async def call(client: httpx.AsyncClient, kind: str, voter: int, path: str,
                   body: dict[str, str], battle_id: str | None = None,
                   ) -> tuple[httpx.Response | None, Request]:
        begin = time.monotonic()
        try:
            response = await client.post(f"{url}{path}", json=body)
        except httpx.HTTPError as exc:
            request = Request(kind, voter, begin, time.monotonic() - begin, None, battle_id,
                              error=f"{type(exc).__name__}: {exc}")
            result.requests.append(request)
            return None, request
        request = Request(kind, voter, begin, time.monotonic() - begin, response.status_code,
                          battle_id, upstream=response.headers.get(UPSTREAM_HEADER),
                          error=None if response.is_success else response.text[:200])
        result.requests.append(request)
        return response, request

    async def voter(index: int) -> None:
        nonlocal attempted, midway_task
        rng = random.Random(index)
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        async with voter_client(timeout=timeout, limits=limits) as client:
            done = after = 0
            while done < pairs or (midway is not None and after < pairs_after_midway):
                if time.monotonic() > stop_at:
                    return
                done += 1
                battle, request = await call(client, "battle", index, "/api/battles", {})
                if battle is None or battle.status_code != 201:
                    await asyncio.sleep(RETRY_PAUSE)
                    continue
                battle_id = request.battle_id = battle.json()["battle_id"]
                if read_delay:
                    await asyncio.sleep(read_delay * rng.uniform(0.5, 1.5))
                attempted += 1
                if midway is not None and midway_task is None and attempted >= voters * pairs / 2:
                    midway_task = loop.run_in_executor(None, run_midway)
                after_midway = result.midway_done is not None
                vote, _ = await call(client, "vote", index, f"/api/battles/{battle_id}/vote",
                                     {"winner": rng.choice(WINNERS)}, battle_id)
                after += after_midway and vote is not None and vote.status_code == 200

    await asyncio.gather(*(voter(i) for i in range(voters)))
    if midway_task is not None:
        await midway_task
    result.wall = time.monotonic() - started
    return result


def run_voters_sync(url: str, **options: object) -> LoadResult:
    """run_voters from synchronous code: in a thread of its own, so that it works even
    where the calling thread has an event loop running (Playwright's, in one test run)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run_voters(url, **options)).result()  # type: ignore[arg-type]
