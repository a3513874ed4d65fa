"""Spotting answers that name a model or its maker ("I am Qwen, created by Alibaba Cloud")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from arena.config import Settings
from arena.config_live import DEFAULT_IDENTITY_WORDS, LiveModelSettings

# A model name or organization such as "Yi" or "AI" would flag every other answer.
_SHORTEST_WORD = 3


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = []
    for word in words:
        escaped = re.escape(word)
        # Latin words match whole words only ("Meta AI" not "metadata"); CJK as substrings.
        if word[:1].isascii() and word[:1].isalnum():
            escaped = r"(?<![A-Za-z0-9])" + escaped
        if word[-1:].isascii() and word[-1:].isalnum():
            escaped += r"(?![A-Za-z0-9])"
        parts.append(escaped)
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def identity_leak(answers: Iterable[str], words: Sequence[str]) -> str | None:
    """The first word of the list found in the answers (never the prompts), or None."""
    for answer in answers:
        # A plain substring test first: the word-boundary pattern of the whole
        # list costs ~0.5 ms per answer, most answers contain none of the words.
        lowered = answer.lower()
        present = tuple(word for word in words if word.lower() in lowered)
        pattern = _pattern(present) if present else None
        found = pattern.search(answer) if pattern else None
        if found:
            return found.group(0)
    return None


def identity_words(settings: Settings) -> tuple[str, ...]:
    """The words that flag an answer: the built-in list (unless turned off), the
    configured `live.identity_words`, and every configured model's own names."""
    live = settings.live
    words = list(DEFAULT_IDENTITY_WORDS) if live.builtin_identity_words else []
    words += live.identity_words
    for model in settings.models:
        words += [name for name in _names_of(model) if len(name) >= _SHORTEST_WORD]
    return tuple(dict.fromkeys(word.strip() for word in words if word.strip()))


def _names_of(model: LiveModelSettings) -> list[str]:
    # vLLM serves ids such as "Qwen/Qwen2.5-7B-Instruct": the last part is what an
    # answer would say of itself.
    names = [model.name, model.model, model.model.rsplit("/", 1)[-1]]
    return names + ([model.organization] if model.organization else [])
