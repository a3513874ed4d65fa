"""Model endpoints, one module per protocol; add a protocol by adding a module here."""

from __future__ import annotations

from arena.config_live import ProviderKind
from arena.providers.base import ChatProvider, StreamEvent, TextDelta, Usage
from arena.providers.openai_chat import OpenAIChatProvider

PROVIDERS: dict[ProviderKind, type[ChatProvider]] = {"openai": OpenAIChatProvider}

__all__ = ["PROVIDERS", "ChatProvider", "StreamEvent", "TextDelta", "Usage"]
