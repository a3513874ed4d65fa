"""A bound on the request head (request line and headers), in uvicorn's HTTP parser.

uvicorn parses HTTP with httptools (uvicorn[standard] brings it), and httptools has
no limit of its own: a header of any size is gathered in memory, one concatenation
per chunk received (uvicorn's `h11_max_incomplete_event_size` bounds only its h11
parser, which it uses when httptools is missing). `HeadLimitedHttpTools` counts the
head as it arrives (the chunks received before the head is complete, and the parsed
URL and headers) and answers 431 once it passes `server.max_header_kb`; it then ends
its side of the connection, reads and drops what the client still sends (so that the
client reads the answer rather than a reset connection) until the client ends its
side, LINGER_SECONDS pass or LINGER_MAX_BYTES arrive, and closes.

`uvicorn_options` is what `arena serve` and the tests' server pass to uvicorn: this
protocol, and uvicorn's access log only at `server.log_level = "debug"` (a line per
HTTP request, two per Gradio event, as arena.logs intends).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from arena.config import ServerSettings

log = logging.getLogger("arena.http")
LINGER_SECONDS = 2.0  # after a 431: how long the rest of the head is read and dropped
LINGER_MAX_BYTES = 8 * 1024 * 1024  # ... and at most this much of it


def uvicorn_options(server: ServerSettings) -> dict[str, Any]:
    protocol = type("HeadLimitedHttpTools", (HeadLimitedHttpTools,),
                    {"max_head_bytes": server.max_header_kb * 1024})
    # uvicorn sets its access logger to log_level itself, over arena.logs's WARNING:
    # without this, every request was formatted, masked and written at "info".
    return {"http": protocol, "access_log": server.log_level == "debug"}


def too_large_response(max_bytes: int) -> bytes:
    body = orjson.dumps({"detail": f"request headers over the limit of {max_bytes // 1024} KiB"})
    return (b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"x-content-type-options: nosniff\r\n"
            b"connection: close\r\n\r\n" + body)


class HeadTooLarge(Exception):
    """Raised in a parser callback; httptools wraps it in an HttpParserCallbackError."""


class HeadLimitedHttpTools(HttpToolsProtocol):
    max_head_bytes = 16 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between messages, what arrives is the next head
        self._boundary = False  # a message began or ended in the chunk being parsed
        self._raw = 0  # bytes of chunks received wholly inside this head
        self._parsed = 0  # bytes of URL and headers parsed so far
        self._refused = False
        self._dropped = 0

    def data_received(self, data: bytes) -> None:
        if self._refused:
            self._dropped += len(data)
            if self._dropped > LINGER_MAX_BYTES:
                self.transport.close()
            return
        self._boundary = False
        super().data_received(data)  # a parser error (HeadTooLarge too) -> send_400_response
        if self._in_head and not self._boundary:
            self._raw += len(data)
        if max(self._raw, self._parsed) > self.max_head_bytes:
            self._refuse()

    def send_400_response(self, msg: str) -> None:
        if self._parsed > self.max_head_bytes:  # a callback raised HeadTooLarge
            self._refuse()
            return
        super().send_400_response(msg)

    def _refuse(self) -> None:
        if self._refused or self.transport.is_closing():
            return
        log.debug("request head over %d KiB from %s: 431", self.max_head_bytes // 1024,
                    self.client[0] if self.client else "?")
        self._refused = True
        self._unset_keepalive_if_required()
        self.transport.write(too_large_response(self.max_head_bytes))
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the answer is whole; the client may stop sending
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._boundary, self._raw, self._parsed = True, True, 0, 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._boundary, self._raw, self._parsed = True, True, 0, 0

    def _count(self, size: int) -> None:
        self._parsed += size
        if self._parsed > self.max_head_bytes:
            raise HeadTooLarge
