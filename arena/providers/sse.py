"""Server-sent events read from the byte stream with a bound on every wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from arena.providers.errors import FirstTokenTimeout, ProviderError, StreamStalled

# Asks the upstream not to compress the stream: events are read from raw bytes.
SSE_HEADERS = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}
# After the protocol's last event, how long the rest of the body may take to
# arrive; read to its end, the connection goes back to the pool for reuse.
END_GRACE_S = 1.0
CONFIRM_S = 0.05


class SSEStream:
    """Each event's `data:` payload, as bytes.

    The first event must come within *first_timeout* seconds, each next one
    within *stall_timeout* of the previous, and the whole stream must end
    before *deadline* (loop time); otherwise iteration raises FirstTokenTimeout
    or StreamStalled. A protocol that knows its last event calls `end()`: the
    remaining bytes are read (and ignored) for up to END_GRACE_S, then
    iteration stops quietly.

    Reads raw network chunks (the request asked for no content encoding) and
    keeps one watchdog timer per stream rather than one timeout per read: a
    streamed answer is thousands of small chunks, and under load the per-chunk
    cost of the reader is what the voter waits for.
    """

    def __init__(self, response: httpx.Response, *, first_timeout: float,
                 stall_timeout: float, deadline: float) -> None:
        self._response = response
        self._limits = (first_timeout, stall_timeout, deadline)
        self._watchdog: _Watchdog | None = None

    def end(self) -> None:
        if self._watchdog is not None:
            self._watchdog.end()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._events()

    async def _events(self) -> AsyncIterator[bytes]:
        watchdog = self._watchdog = _Watchdog(*self._limits)
        chunks = self._response.aiter_raw()
        buffer = b""
        data: list[bytes] = []
        try:
            while True:
                watchdog.reading = True
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if watchdog.ended_quietly():
                        return
                    raise
                watchdog.reading = False
                watchdog.fed()
                if watchdog.ending:
                    continue
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.endswith(b"\r"):
                        line = line[:-1]
                    if line.startswith(b"data:"):
                        data.append(line[6:] if line[5:6] == b" " else line[5:])
                    elif not line and data:
                        watchdog.received_event = True
                        yield b"\n".join(data)
                        data = []
                        if watchdog.ending:
                            break
        finally:
            watchdog.stop()
        if buffer.startswith(b"data:"):
            data.append(buffer[5:].lstrip(b" "))
        if data and not watchdog.ending:
            yield b"\n".join(data)


class _EndOfAnswer(Exception):
    """The grace period after the last event ran out: stop without an error."""


class _Watchdog:
    """Cancels the reading task when a wait runs past its bound.

    A read only notes the time; the timer checks when it fires and re-arms
    itself for the new bound, so a healthy stream costs one timer per bound
    period instead of one per chunk.
    """

    def __init__(self, first_timeout: float, stall_timeout: float, deadline: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        self.first_timeout, self.stall_timeout, self.deadline = (
            first_timeout, stall_timeout, deadline)
        self.last = self.loop.time()
        self.received_event = False
        self.reading = False
        self.ending = False
        self.confirming = False
        self.expired: ProviderError | _EndOfAnswer | None = None
        self.handle = self.loop.call_at(self._due(), self._check)

    def _due(self) -> float:
        if self.ending:
            return self.last + END_GRACE_S
        limit = self.stall_timeout if self.received_event else self.first_timeout
        return min(self.last + limit, self.deadline)

    def fed(self) -> None:
        self.last = self.loop.time()

    def end(self) -> None:
        self.ending = True
        self.last = self.loop.time()

    def _check(self) -> None:
        due = self._due()
        if self.loop.time() < due or not self.reading:
            # Not due yet, or the consumer holds the stream (an event is being
            # handled): look again at the bound, or shortly.
            self.confirming = False
            self.handle = self.loop.call_at(max(due, self.loop.time() + 0.05), self._check)
            return
        if not self.confirming:
            # Due. Timers run before pending socket reads, so after the loop was
            # busy past the bound, data that did arrive in time is still unread:
            # look once more after it has been handled.
            self.confirming = True
            self.handle = self.loop.call_later(CONFIRM_S, self._check)
            return
        if self.ending:
            self.expired = _EndOfAnswer()
        elif self.deadline <= due:
            self.expired = StreamStalled("answer not finished within total_timeout")
        elif self.received_event:
            self.expired = StreamStalled(f"no data for {self.stall_timeout:g}s mid-stream")
        else:
            self.expired = FirstTokenTimeout(f"no data within {self.first_timeout:g}s")
        if self.task is not None:
            self.task.cancel()

    def ended_quietly(self) -> bool:
        """After a cancellation: True if it was the end of the grace period; raises the
        timeout error if it was a bound; False if someone else cancelled the task."""
        if self.expired is None or self.task is None or self.task.uncancel() > 0:
            return False
        if isinstance(self.expired, _EndOfAnswer):
            return True
        raise self.expired

    def stop(self) -> None:
        self.handle.cancel()
