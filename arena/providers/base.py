"""What every provider module implements: stream one chat answer."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from arena.config_live import EndpointSettings
from arena.providers.transport import EndpointClient
from arena.redact import url_secrets


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


StreamEvent = TextDelta | Usage


class ChatProvider(ABC):
    """One protocol (OpenAI chat completions, Anthropic messages, ...).

    `stream` yields TextDelta as tokens arrive and at most one Usage, and raises
    an arena.providers.errors.ProviderError for every kind of failure, with
    timeouts enforced by the provider itself (nothing waits without a bound) and
    the error's detail redacted with `secrets()`.
    """

    def __init__(self, config: EndpointSettings, *, api_key: str | None) -> None:
        self.config = config
        self._api_key = api_key

    def secrets(self) -> list[str | None]:
        """What must never appear in an error detail: the key and URL credentials."""
        return [self._api_key, *url_secrets(self.config.base_url)]

    def messages_with_system(self, messages: Sequence[dict[str, str]]) -> list[dict[str, str]]:
        prefix = ([{"role": "system", "content": self.config.system_prompt}]
                  if self.config.system_prompt else [])
        return prefix + [dict(m) for m in messages]

    @abstractmethod
    def stream(
        self, messages: Sequence[dict[str, str]], *, client: EndpointClient
    ) -> AsyncIterator[StreamEvent]:
        ...
