from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.utils.fake_openai import FakeOpenAI, serve_fake_openai
from tests.utils.server import free_port


@pytest.fixture
def fake_openai() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with serve_fake_openai(fake, free_port()) as base_url:
        yield fake, base_url
