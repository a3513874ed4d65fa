"""Server-sent events read from the byte stream with a bound on every wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from arena.providers.errors import FirstTokenTimeout, StreamStalled


async def sse_data(response: httpx.Response, *, first_timeout: float,
                   stall_timeout: float, deadline: float) -> AsyncIterator[str]:
    """Yield each event's `data:` payload; the first must come within *first_timeout*
    seconds, each next one within *stall_timeout* of the previous, and the whole
    stream must end before *deadline* (loop time).

    Reads network chunks rather than lines: under load one chunk carries many
    events, and each wait costs a timer, not a task.
    """
    loop = asyncio.get_running_loop()
    chunks = response.aiter_text()
    received_any = False
    buffer = ""
    data: list[str] = []
    while True:
        limit = stall_timeout if received_any else first_timeout
        remaining = deadline - loop.time()
        try:
            async with asyncio.timeout(max(0.0, min(limit, remaining))):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            break
        except TimeoutError as exc:
            if remaining < limit:
                raise StreamStalled("answer not finished within total_timeout") from exc
            if received_any:
                raise StreamStalled(f"no data for {stall_timeout:g}s mid-stream") from exc
            raise FirstTokenTimeout(f"no data within {first_timeout:g}s") from exc
        buffer += chunk
        *lines, buffer = buffer.replace("\r\n", "\n").split("\n")
        for line in lines:
            if line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif line == "" and data:
                received_any = True
                yield "\n".join(data)
                data = []
    if buffer.startswith("data:"):
        data.append(buffer[5:].lstrip(" "))
    if data:
        yield "\n".join(data)
