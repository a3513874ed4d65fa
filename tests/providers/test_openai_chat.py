"""The OpenAI chat-completions provider against a real HTTP server that streams SSE."""

from __future__ import annotations

import asyncio
import time

import pytest

from arena.config_live import LiveModelSettings
from arena.providers import TextDelta, Usage
from arena.providers.errors import (
    ConnectFailed,
    EmptyAnswer,
    FirstTokenTimeout,
    MalformedStream,
    RateLimited,
    StreamStalled,
    UpstreamRequestError,
    UpstreamServerError,
)
from arena.providers.openai_chat import OpenAIChatProvider
from arena.providers.transport import EndpointClient
from tests.utils.fake_openai import Script
from tests.utils.server import refusing_port

MESSAGES = [{"role": "user", "content": "Say hello."}]


def provider(base_url: str, model: str = "m", api_key: str | None = None, **options):
    config = LiveModelSettings(name=f"named-{model}", base_url=base_url, model=model,
                               first_token_timeout=options.pop("first_token_timeout", 2),
                               stall_timeout=options.pop("stall_timeout", 1), **options)
    return OpenAIChatProvider(config, api_key=api_key)


async def collect(chat: OpenAIChatProvider) -> tuple[str, list[Usage]]:
    text, usage = "", []
    client = EndpointClient()
    try:
        async for event in chat.stream(MESSAGES, client=client):
            if isinstance(event, TextDelta):
                text += event.text
            else:
                usage.append(event)
    finally:
        await client.aclose()
    return text, usage


def run(chat: OpenAIChatProvider) -> tuple[str, list[Usage]]:
    return asyncio.run(collect(chat))


def test_streams_text_and_usage_with_bearer_key(fake_openai) -> None:
    fake, url = fake_openai
    fake.scripts["m"] = Script(reply="one two three")
    text, usage = run(provider(url, api_key="sk-test-123", system_prompt="Be brief.",
                               temperature=0.2))
    assert text == "one two three "
    assert usage == [Usage(prompt_tokens=11, completion_tokens=3)]
    request = fake.requests[0]
    assert request["headers"]["authorization"] == "Bearer sk-test-123"
    body = request["body"]
    assert body["stream"] is True and body["model"] == "m" and body["temperature"] == 0.2
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize(
    ("script", "error"),
    [
        (Script(status=500), UpstreamServerError),
        (Script(status=401), UpstreamRequestError),
        (Script(status=429), RateLimited),
        (Script(malformed=True), MalformedStream),
        (Script(reply=""), EmptyAnswer),
        (Script(first_token_delay=5), FirstTokenTimeout),
        (Script(tokens=50, stall_after=3), StreamStalled),
    ],
)
def test_failures_become_typed_errors(fake_openai, script, error) -> None:
    fake, url = fake_openai
    fake.scripts["m"] = script
    with pytest.raises(error):
        run(provider(url))


def test_stall_keeps_the_text_received_so_far(fake_openai) -> None:
    fake, url = fake_openai
    fake.scripts["m"] = Script(reply="a b c d e f", stall_after=3)
    received = []

    async def consume() -> None:
        client = EndpointClient()
        try:
            async for event in provider(url).stream(MESSAGES, client=client):
                if isinstance(event, TextDelta):
                    received.append(event.text)
        finally:
            await client.aclose()

    with pytest.raises(StreamStalled):
        asyncio.run(consume())
    assert "".join(received) == "a b c "


def test_connection_refused() -> None:
    with refusing_port() as port, pytest.raises(ConnectFailed):
        run(provider(f"http://127.0.0.1:{port}/v1"))


def test_429_retry_after_is_respected_once(fake_openai) -> None:
    fake, url = fake_openai
    fake.scripts["m"] = Script(status=429, retry_after="1", reply="finally")
    started = time.perf_counter()
    text, _ = run(provider(url))
    assert text == "finally " and len(fake.requests) == 2
    assert time.perf_counter() - started >= 1.0


def test_retry_after_longer_than_allowed_is_not_waited(fake_openai) -> None:
    fake, url = fake_openai
    fake.scripts["m"] = Script(status=429, retry_after="120")
    with pytest.raises(RateLimited):
        run(provider(url, max_retry_after=5))
    assert len(fake.requests) == 1


def test_total_timeout_bounds_a_slow_but_steady_stream(fake_openai) -> None:
    fake, url = fake_openai
    fake.scripts["m"] = Script(tokens=100, token_delay=0.05)
    with pytest.raises(StreamStalled, match="total_timeout"):
        run(provider(url, total_timeout=0.5))
