"""The HTTP client for model endpoints: lean per request, keep-alive without a
quadratic pool.

- httpcore's connection pool re-checks every pooled connection against every
  other one each time a request starts or a response closes, so its cost grows
  with the square of the pool: with 100 streamed answers at once and their
  connections kept alive, reading one event cost ~0.9 ms of CPU instead of
  ~0.12 ms. Spreading requests over several small pools keeps each scan short
  and keeps connections alive all the same.
- `httpx.AsyncClient` runs a cookie jar, auth and redirect handling and event
  hooks on every request; a model endpoint needs none of them, and on a busy
  arena they were a tenth of the CPU spent per answer. Requests go straight to
  the transport instead (httpx's documented transport API).

HTTP(S)_PROXY / NO_PROXY from the environment are honoured, as httpx does.
"""

from __future__ import annotations

import functools
import ssl
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

SHARDS = 16
CONNECTIONS_PER_SHARD = 32
KEEPALIVE_PER_SHARD = 8
# Idle connections are kept this long (httpx's default is 5 s: between the
# battles of a quiet arena every answer would pay a new TLS handshake).
KEEPALIVE_EXPIRY_S = 30.0
USER_AGENT = "arena-llm-evaluation"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One certificate store for all pools: loading it takes ~50 ms of CPU."""
    return httpx.create_ssl_context()


class ShardedPools:
    """Several small connection pools; each request goes to the least busy one.

    At low traffic that is always the first pool, so its connections are
    reused; under load requests spread evenly and no pool grows large.
    """

    def __init__(self, shards: int = SHARDS, proxy: str | None = None) -> None:
        limits = httpx.Limits(max_connections=CONNECTIONS_PER_SHARD,
                              max_keepalive_connections=KEEPALIVE_PER_SHARD,
                              keepalive_expiry=KEEPALIVE_EXPIRY_S)
        self.proxy = proxy
        self._pools = [httpx.AsyncHTTPTransport(limits=limits, verify=tls_context(), proxy=proxy)
                       for _ in range(shards)]
        self._busy = [0] * shards

    @asynccontextmanager
    async def send(self, request: httpx.Request) -> AsyncIterator[httpx.Response]:
        index = self._busy.index(min(self._busy))
        self._busy[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
            response.request = request
            try:
                yield response
            finally:
                await response.aclose()
        finally:
            self._busy[index] -= 1

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


class EndpointClient:
    """Streams requests to model endpoints; one per event loop."""

    def __init__(self) -> None:
        self._direct = ShardedPools()
        self._proxies = urllib.request.getproxies_environment()  # read once: a scan of os.environ
        self._routes: dict[tuple[str, str], ShardedPools] = {}

    def _pools(self, url: httpx.URL) -> ShardedPools:
        route = self._routes.get((url.scheme, url.host))
        if route is None:
            proxy = self._proxies.get(url.scheme)
            if not proxy or urllib.request.proxy_bypass_environment(url.host, self._proxies):
                route = self._direct
            else:
                route = next((t for t in self._routes.values() if t.proxy == proxy), None)
                route = route or ShardedPools(shards=2, proxy=proxy)
            self._routes[(url.scheme, url.host)] = route
        return route

    @asynccontextmanager
    async def stream(self, method: str, url: str, *, content: bytes, headers: dict[str, str],
                     timeout: httpx.Timeout) -> AsyncIterator[httpx.Response]:
        request = httpx.Request(method, url, content=content,
                                headers={"User-Agent": USER_AGENT, **headers},
                                extensions={"timeout": timeout.as_dict()})
        async with self._pools(request.url).send(request) as response:
            yield response

    async def aclose(self) -> None:
        for transport in {id(t): t for t in (self._direct, *self._routes.values())}.values():
            await transport.aclose()
