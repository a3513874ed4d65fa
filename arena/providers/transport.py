"""The HTTP client for model endpoints: httpx requests and responses carried by aiohttp.

A live arena relays every token of every answer: 50 battles at 100 tokens/s
are 10,000 server-sent events a second through one event loop. httpx's own
transport (httpcore + h11, pure Python) costs ~120 us of CPU per event and
saturates a core before that; httpx-aiohttp's transport (aiohttp's C HTTP
parser under the same httpx Request/Response API) costs ~55 us
(benchmarks/bench_streaming.py). httpcore's pool also re-checks every pooled
connection against every other one on each request and response close
(quadratic in the pool size: 0.9 ms per event with 100 kept-alive streams);
aiohttp's pool does not.

Requests go straight to the transport: no cookie jar, auth, redirects or event
hooks, which a model endpoint does not need and which cost a tenth of the CPU
per answer through `httpx.AsyncClient`. HTTP(S)_PROXY / NO_PROXY from the
environment are honoured, as httpx does.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from httpx_aiohttp import AiohttpTransport

# Idle connections are kept this long (httpx's default is 5 s: between the
# battles of a quiet arena every answer would pay a new TLS handshake).
KEEPALIVE_EXPIRY_S = 30.0
MAX_CONNECTIONS = 1000
USER_AGENT = "arena-llm-evaluation"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One certificate store for every transport: loading it takes ~50 ms of CPU."""
    return httpx.create_ssl_context()


def _transport(proxy: str | None = None) -> AiohttpTransport:
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, keepalive_expiry=KEEPALIVE_EXPIRY_S)
    return AiohttpTransport(verify=tls_context(), limits=limits, trust_env=False,
                            proxy=httpx.Proxy(proxy) if proxy else None)


@functools.lru_cache(maxsize=256)
def _url(url: str) -> httpx.URL:
    """Parsed once per endpoint: httpx's URL parser is a tenth of a request's CPU."""
    return httpx.URL(url)


class EndpointClient:
    """Streams requests to model endpoints; one per event loop (`Arena.http_client`)."""

    def __init__(self) -> None:
        self._proxies = urllib.request.getproxies_environment()  # read once: a scan of os.environ
        self._routes: dict[tuple[str, str], AiohttpTransport] = {}
        self._transports: dict[str | None, AiohttpTransport] = {}

    def _route(self, url: httpx.URL) -> AiohttpTransport:
        route = self._routes.get((url.scheme, url.host))
        if route is None:
            proxy = self._proxies.get(url.scheme)
            if proxy and urllib.request.proxy_bypass_environment(url.host, self._proxies):
                proxy = None
            if proxy not in self._transports:
                self._transports[proxy] = _transport(proxy)
            route = self._routes[(url.scheme, url.host)] = self._transports[proxy]
        return route

    @asynccontextmanager
    async def stream(self, method: str, url: str, *, content: bytes, headers: dict[str, str],
                     timeout: httpx.Timeout, response_timeout: float
                     ) -> AsyncIterator[httpx.Response]:
        """The response once its headers are in (within *response_timeout* seconds,
        else httpx.ReadTimeout); the body is read by the caller."""
        request = httpx.Request(method, _url(url), content=content,
                                headers={"User-Agent": USER_AGENT, **headers},
                                extensions={"timeout": timeout.as_dict()})
        try:
            async with asyncio.timeout(response_timeout):
                response = await self._route(request.url).handle_async_request(request)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"no response headers within {response_timeout:g}s",
                                    request=request) from exc
        try:
            yield response
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        for transport in self._transports.values():
            await transport.aclose()
        self._transports.clear()
        self._routes.clear()
