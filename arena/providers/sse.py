"""Server-sent events read line by line with a bound on every wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from arena.providers.errors import FirstTokenTimeout, StreamStalled


async def sse_data(response: httpx.Response, *, first_timeout: float,
                   stall_timeout: float, deadline: float) -> AsyncIterator[str]:
    """Yield each event's `data:` payload; the first must come within *first_timeout*
    seconds, each next one within *stall_timeout* of the previous, and the whole
    stream must end before *deadline* (loop time)."""
    loop = asyncio.get_running_loop()
    lines = response.aiter_lines()
    waited_first = False
    data: list[str] = []
    while True:
        limit = stall_timeout if waited_first else first_timeout
        remaining = deadline - loop.time()
        try:
            # asyncio.timeout, unlike wait_for, starts no task per line.
            async with asyncio.timeout(max(0.0, min(limit, remaining))):
                line = await anext(lines)
        except StopAsyncIteration:
            break
        except TimeoutError as exc:
            if remaining < limit:
                raise StreamStalled("answer not finished within total_timeout") from exc
            if waited_first:
                raise StreamStalled(f"no data for {stall_timeout:g}s mid-stream") from exc
            raise FirstTokenTimeout(f"no data within {first_timeout:g}s") from exc
        if line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
        elif line == "" and data:
            waited_first = True
            yield "\n".join(data)
            data = []
    if data:
        yield "\n".join(data)
