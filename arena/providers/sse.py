"""Server-sent events read from the byte stream with a bound on every wait.

Parsing follows the WHATWG event-stream rules: lines end with CRLF, LF or a
lone CR (also when a CRLF pair is split across two network chunks); a line
starting with ':' is a comment; `data:` lines accumulate, `event:`, `id:` and
`retry:` set their fields, unknown fields are ignored; an empty line dispatches
the event (nothing when no data line came); an unterminated event at the end of
the stream is discarded, never dispatched.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from arena.providers.errors import FirstTokenTimeout, ProviderError, StreamStalled

# Asks the upstream not to compress the stream: events are read from raw bytes.
SSE_HEADERS = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}
# After the protocol's last event, how long the rest of the body may take to
# arrive; read to its end, the connection goes back to the pool for reuse.
END_GRACE_S = 1.0
CONFIRM_S = 0.05
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Event:
    data: bytes
    event: str = "message"
    id: str | None = None  # the last event id seen so far in the stream
    retry_ms: int | None = None  # the last `retry:` value seen so far


class EventParser:
    """Turns network chunks into dispatched Events (no I/O, no timing)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._skip_lf = False  # the previous chunk ended with CR: a leading LF ends nothing
        self._started = False
        self._data: list[bytes] = []
        self._type = ""
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = False
        if b"\r" in chunk:
            self._skip_lf = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buffer = self._buffer + chunk
        if not self._started:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._buffer = buffer
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM):]
        *lines, self._buffer = buffer.split(b"\n")
        events: list[Event] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(Event(b"\n".join(self._data), self._type or "message",
                                        self._id, self._retry))
                    self._data = []
                self._type = ""
            elif line[0] == 0x3A:  # ':' comment
                continue
            else:
                name, _, value = line.partition(b":")
                if value[:1] == b" ":
                    value = value[1:]
                if name == b"data":
                    self._data.append(value)
                elif name == b"event":
                    self._type = value.decode("utf-8", errors="replace")
                elif name == b"id":
                    if b"\0" not in value:
                        self._id = value.decode("utf-8", errors="replace")
                elif name == b"retry":
                    if value.isdigit():
                        self._retry = int(value)
        return events


class SSEStream:
    """The stream's Events.

    The first event must come within *first_timeout* seconds of the start,
    each next one within *stall_timeout* of the previous, and the whole stream
    must end before *deadline* (loop time); otherwise iteration raises
    FirstTokenTimeout or StreamStalled. Comments (keep-alive pings) are not
    events: they do not stop either clock. A protocol that knows its last event
    calls `end()`: the remaining bytes are read (and ignored) for up to
    END_GRACE_S, then iteration stops quietly.

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

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        watchdog = self._watchdog = _Watchdog(*self._limits)
        chunks = self._response.aiter_raw()
        parser = EventParser()
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
                if watchdog.ending:
                    continue
                for event in parser.feed(chunk):
                    watchdog.event_arrived()
                    yield event
                    if watchdog.ending:
                        break
        finally:
            watchdog.stop()


class _EndOfAnswer(Exception):
    """The grace period after the last event ran out: stop without an error."""


class _Watchdog:
    """Cancels the reading task when a wait runs past its bound.

    An event only notes the time; the timer checks when it fires and re-arms
    itself for the new bound, so a healthy stream costs one timer per bound
    period instead of one per event. The one bound that moves earlier (the
    stall bound replacing the first-token bound at the first event, the grace
    period at the end) re-arms the timer at once.
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

    def event_arrived(self) -> None:
        self.last = self.loop.time()
        if not self.received_event:
            self.received_event = True
            self._rearm()

    def end(self) -> None:
        self.ending = True
        self.last = self.loop.time()
        self._rearm()

    def _rearm(self) -> None:
        due = self._due()
        if due < self.handle.when():
            self.handle.cancel()
            self.confirming = False
            self.handle = self.loop.call_at(due, self._check)

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
