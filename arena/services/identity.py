"""Spotting answers that name a model or its maker ("I am Qwen, created by Alibaba Cloud")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache


@lru_cache(maxsize=8)
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
    """The first listed word found in the answers (never the prompts), or None."""
    pattern = _pattern(tuple(words))
    if pattern is None:
        return None
    for answer in answers:
        found = pattern.search(answer)
        if found:
            return found.group(0)
    return None
