"""A stalled answer ends at its stall bound, whatever the first-token bound is."""

from __future__ import annotations

import asyncio
import time

import pytest

from arena.config_live import LiveModelSettings
from arena.providers import TextDelta
from arena.providers.errors import FirstTokenTimeout, ProviderError, StreamStalled
from arena.providers.openai_chat import OpenAIChatProvider
from arena.providers.transport import EndpointClient
from tests.utils.fake_openai import Script

MESSAGES = [{"role": "user", "content": "Say hello."}]
# (first_token_timeout, stall_timeout): first-token bounds from 2 to 120 s, stall
# bounds below and above them, as an owner might set them (vLLM's example uses 120).
LIMITS = [(2, 1), (3, 2), (8, 2), (30, 1), (60, 2), (120, 3), (2, 4)]
SLACK_S = 1.0


async def _time_to_end(url: str, model: str, first: float, stall: float,
                       client: EndpointClient) -> tuple[float, str, ProviderError | None]:
    config = LiveModelSettings(name=model, base_url=url, model=model,
                               first_token_timeout=first, stall_timeout=stall)
    text, last_token, error = "", time.perf_counter(), None
    try:
        async for event in OpenAIChatProvider(config, api_key=None).stream(MESSAGES,
                                                                           client=client):
            if isinstance(event, TextDelta):
                text += event.text
                last_token = time.perf_counter()
    except ProviderError as exc:
        error = exc
    return time.perf_counter() - last_token, text, error


def test_stall_ends_within_stall_timeout_for_every_first_token_limit(fake_openai) -> None:
    fake, url = fake_openai
    for first, stall in LIMITS:
        fake.scripts[f"m-{first}-{stall}"] = Script(reply="one two three four five",
                                                    stall_after=3)

    async def run_all() -> list[tuple[float, str, ProviderError | None]]:
        client = EndpointClient()
        try:
            return await asyncio.gather(*(
                _time_to_end(url, f"m-{first}-{stall}", first, stall, client)
                for first, stall in LIMITS))
        finally:
            await client.aclose()

    for (first, stall), (waited, text, error) in zip(LIMITS, asyncio.run(run_all()),
                                                     strict=True):
        assert text == "one two three ", (first, stall)
        assert isinstance(error, StreamStalled), (first, stall, error)
        assert stall <= waited < stall + SLACK_S, (
            f"first_token_timeout={first}, stall_timeout={stall}: ended {waited:.2f}s "
            "after the last token")


@pytest.mark.parametrize(("first", "stall"), [(1, 5), (2, 1)])
def test_no_first_token_ends_at_first_token_timeout(fake_openai, first, stall) -> None:
    fake, url = fake_openai
    fake.scripts["silent"] = Script(first_token_delay=30)

    async def run() -> tuple[float, str, ProviderError | None]:
        client = EndpointClient()
        try:
            started = time.perf_counter()
            _, text, error = await _time_to_end(url, "silent", first, stall, client)
            return time.perf_counter() - started, text, error
        finally:
            await client.aclose()

    waited, text, error = asyncio.run(run())
    assert text == "" and isinstance(error, FirstTokenTimeout)
    assert first <= waited < first + SLACK_S
