from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.utils.fake_openai import FakeOpenAI, serve_fake_openai


@pytest.fixture
def fake_openai() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with serve_fake_openai(fake) as base_url:
        yield fake, base_url
