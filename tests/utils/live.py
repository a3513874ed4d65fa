"""An arena whose live models are served by the fake OpenAI server."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from arena.app import prepare
from arena.config import load_settings
from arena.context import Arena
from tests.utils.fake_openai import FakeOpenAI, Script, serve_fake_openai

LIVE_MODELS = ("lynx-live-alpha", "otter-live-beta")
T = TypeVar("T")


@contextmanager
def live_arena(database_url: str, scripts: dict[str, Script] | None = None,
               *, models: tuple[str, ...] = LIVE_MODELS, live: dict[str, Any] | None = None,
               model_options: dict[str, Any] | None = None,
               settings: dict[str, Any] | None = None) -> Iterator[tuple[Arena, FakeOpenAI]]:
    """Live models named *models*; each asks the fake server for the model id `id-<name>`."""
    fake = FakeOpenAI(scripts={f"id-{name}": script for name, script in (scripts or {}).items()})
    with serve_fake_openai(fake) as base_url:
        settings = load_settings(
            database_url=database_url,
            battle={"load_demo": False},
            live=live or {},
            models=[{"name": name, "base_url": base_url, "model": f"id-{name}",
                     "first_token_timeout": 2, "stall_timeout": 1, **(model_options or {})}
                    for name in models],
            **(settings or {}),
        )
        arena = prepare(settings)
        try:
            yield arena, fake
        finally:
            arena.close()


def run_live(arena: Arena, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run *coroutine* in a new event loop, then close that loop's endpoint client."""

    async def main() -> T:
        try:
            return await coroutine
        finally:
            await arena.aclose_http_client()

    return asyncio.run(main())


def assert_streamed_in_order(pieces: list[tuple[str, str]], answers: dict[str, str]) -> None:
    """The streamed (side, text) pieces spell each side's whole answer, in order.

    How many pieces there are is up to the coalescing of the stream, so it is not checked.
    """
    for side, answer in answers.items():
        texts = [text for piece_side, text in pieces if piece_side == side]
        assert texts and all(texts), f"side {side}: no text streamed, or an empty piece"
        assert "".join(texts) == answer, f"side {side}: the streamed text is not the answer"
    assert {side for side, _ in pieces} == set(answers)
