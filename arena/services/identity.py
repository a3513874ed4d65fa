"""Spotting answers that name a model or its maker ("I am Qwen, created by Alibaba Cloud")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache


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
