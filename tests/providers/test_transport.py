"""The endpoint client against a real HTTP server: keep-alive, the end of a stream, proxies."""

from __future__ import annotations

import asyncio

import pytest

from arena.providers import TextDelta
from arena.providers.errors import ConnectFailed, FirstTokenTimeout
from arena.providers.transport import EndpointClient
from tests.providers.test_openai_chat import MESSAGES, provider
from tests.utils.fake_openai import Script

HANG_GUARD_S = 60  # only ends a test that would otherwise hang; never reached when it passes


async def answer(chat, client: EndpointClient) -> str:
    return "".join([e.text async for e in chat.stream(MESSAGES, client=client)
                    if isinstance(e, TextDelta)])


def answer_with_a_new_client(chat) -> str:
    async def run() -> str:
        client = EndpointClient()  # reads HTTP(S)_PROXY / NO_PROXY now
        try:
            return await answer(chat, client)
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_answers_reuse_the_connection_after_done(fake_openai) -> None:
    fake, url = fake_openai
    fake.scripts["m"] = Script(reply="one two")

    async def run() -> list[str]:
        client = EndpointClient()
        try:
            return [await answer(provider(url), client) for _ in range(5)]
        finally:
            await client.aclose()

    assert asyncio.run(run()) == ["one two "] * 5
    assert len({r["peer"] for r in fake.requests}) == 1  # one TCP connection, five answers


def test_concurrent_answers_reuse_their_connections_next_time(fake_openai) -> None:
    fake, url = fake_openai
    # every answer of a round waits for the round's 40 requests: all 40 are open at once
    fake.scripts["m"] = Script(reply="a b c", token_delay=0.05, together=40)

    async def run() -> None:
        client = EndpointClient()
        try:
            for _ in range(2):
                # 40 connections opened at once on a loaded machine can take seconds: the
                # timeouts are not what this test is about
                chat = provider(url, first_token_timeout=HANG_GUARD_S, stall_timeout=HANG_GUARD_S)
                texts = await asyncio.gather(*[answer(chat, client) for _ in range(40)])
                assert texts == ["a b c "] * 40
        finally:
            await client.aclose()

    asyncio.run(run())
    first = {r["peer"] for r in fake.requests[:40]}
    second = {r["peer"] for r in fake.requests[40:]}
    assert len(first) == 40 and second <= first


def test_a_server_that_keeps_the_stream_open_after_done_does_not_hold_the_answer(
        fake_openai) -> None:
    fake, url = fake_openai
    fake.scripts["m"] = Script(reply="all done", linger_after_done=3600)
    # Waiting for the server to close, or for the stall timeout, would outlast the guard.
    chat = provider(url, stall_timeout=3600, total_timeout=3600)

    async def run() -> str:
        client = EndpointClient()
        try:
            return await asyncio.wait_for(answer(chat, client), HANG_GUARD_S)
        finally:
            await client.aclose()

    assert asyncio.run(run()) == "all done "


def test_requests_go_through_the_environment_proxy_unless_no_proxy(fake_openai,
                                                                   monkeypatch) -> None:
    fake, url = fake_openai
    fake.scripts["m"] = Script(reply="via proxy")
    monkeypatch.setenv("HTTP_PROXY", url.removesuffix("/v1"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
    remote = "http://models.arena-test.invalid/v1"  # resolvable only by the proxy

    assert answer_with_a_new_client(provider(remote, connect_timeout=2)) == "via proxy "
    assert fake.requests[-1]["headers"]["host"] == "models.arena-test.invalid"
    monkeypatch.setenv("NO_PROXY", "models.arena-test.invalid")
    with pytest.raises(ConnectFailed):
        answer_with_a_new_client(provider(remote, connect_timeout=2))


def test_a_server_that_never_answers_the_request_is_a_first_token_timeout() -> None:
    async def run() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(65536)  # takes the request, never answers
            await reader.read()  # until the client gives up

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = EndpointClient()
        try:
            async with server:
                chat = provider(f"http://127.0.0.1:{port}/v1", first_token_timeout=1,
                                stall_timeout=3600, total_timeout=3600)
                await asyncio.wait_for(answer(chat, client), HANG_GUARD_S)
        finally:
            await client.aclose()

    with pytest.raises(FirstTokenTimeout, match="no response"):
        asyncio.run(run())
