"""The SSE reader against the WHATWG event-stream rules, fed by a real socket server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest

from arena.providers.errors import FirstTokenTimeout, StreamStalled
from arena.providers.sse import Event, EventParser, SSEStream


def parse(*chunks: bytes) -> list[Event]:
    parser = EventParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(end: bytes) -> None:
    stream = end.join([b"data: one", b"", b"data: two", b"data: lines", b"", b""])
    assert [e.data for e in parse(stream)] == [b"one", b"two\nlines"]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    # "\r" closes the line at once; the "\n" that follows in the next chunk is not
    # a second (empty) line, which would dispatch the event early.
    parser = EventParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r") == []
    assert [e.data for e in parser.feed(b"\n\r\n")] == [b"a\nb"]


def test_lone_cr_dispatches_without_waiting_for_the_next_chunk() -> None:
    assert [e.data for e in parse(b"data: x\r\r")] == [b"x"]


def test_event_id_and_retry_fields() -> None:
    events = parse(b"event: delta\nid: 7\nretry: 1500\ndata: {}\n\n"
                   b"data: next\n\n"
                   b"id\nretry: soon\ndata: third\n\n")
    assert [(e.event, e.data, e.id, e.retry_ms) for e in events] == [
        ("delta", b"{}", "7", 1500),
        ("message", b"next", "7", 1500),  # the id and retry persist, the type does not
        ("message", b"third", "", 1500),  # a bare `id` empties it; a non-number retry is ignored
    ]


def test_comments_and_unknown_fields_are_ignored() -> None:
    events = parse(b": keep-alive\n\nfoo: bar\ndata:x\n: between\ndata:  two spaces\n\n")
    assert [e.data for e in events] == [b"x\n two spaces"]  # one space after ':' is dropped


def test_field_without_colon_and_empty_data() -> None:
    assert [e.data for e in parse(b"data\n\ndata:\ndata:\n\n")] == [b"", b"\n"]


def test_blank_lines_without_data_dispatch_nothing_and_reset_the_type() -> None:
    events = parse(b"event: ping\n\n\n\ndata: after\n\n")
    assert [(e.event, e.data) for e in events] == [("message", b"after")]


def test_id_with_nul_is_ignored() -> None:
    assert parse(b"id: 1\n\nid: a\0b\ndata: x\n\n")[0].id == "1"


def test_byte_order_mark_at_the_start_only() -> None:
    assert [e.data for e in parse(b"\xef\xbb", b"\xbfdata: a\n\n")] == [b"a"]
    # Later in the stream the mark is part of a field name ("\ufeffdata"): not data.
    assert parse(b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n")[1:] == []


def test_unterminated_last_event_is_not_dispatched() -> None:
    assert [e.data for e in parse(b"data: whole\n\ndata: cut", b" off\n")] == [b"whole"]


# Over a real socket ---------------------------------------------------------


async def _raw_server(chunks: Sequence[tuple[float, bytes]]) -> tuple[asyncio.Server, str]:
    """An HTTP/1.1 server that answers any request with *chunks* (delay, bytes) as the body."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     b"connection: close\r\n\r\n")
        try:
            for delay, chunk in chunks:
                await asyncio.sleep(delay)
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/"


async def _read(chunks: Sequence[tuple[float, bytes]], *, first: float = 2.0,
                stall: float = 1.0) -> AsyncIterator[Event]:
    server, url = await _raw_server(chunks)
    try:
        async with httpx.AsyncClient() as client, client.stream("GET", url) as response:
            deadline = asyncio.get_running_loop().time() + 30
            async for event in SSEStream(response, first_timeout=first, stall_timeout=stall,
                                         deadline=deadline):
                yield event
    finally:
        server.close()


def collect(chunks: Sequence[tuple[float, bytes]], **limits: float) -> list[bytes]:
    async def run() -> list[bytes]:
        return [event.data async for event in _read(chunks, **limits)]

    return asyncio.run(run())


def test_socket_stream_with_mixed_line_ends_split_anywhere() -> None:
    body = b"data: alpha\r\n\r\nevent: x\rdata: beta\r\rdata: gamma\n\ndata: lost"
    chunks = [(0.01, body[i:i + 3]) for i in range(0, len(body), 3)]
    assert collect(chunks) == [b"alpha", b"beta", b"gamma"]


def test_keep_alive_comments_do_not_count_as_a_first_token() -> None:
    pings = [(0.3, b": ping\n\n")] * 10  # a ping every 0.3 s, never an event
    with pytest.raises(FirstTokenTimeout):
        collect(pings, first=1.0, stall=5.0)


def test_keep_alive_comments_do_not_hide_a_stall() -> None:
    chunks = [(0.0, b"data: one\n\n")] + [(0.3, b": ping\n\n")] * 10
    with pytest.raises(StreamStalled):
        collect(chunks, first=5.0, stall=1.0)
