"""Style counts of a battle's answers, stored once so the leaderboard never re-reads text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ratings.style import assistant_text, style_counts


def battle_style(
    conversation_a: Sequence[Mapping[str, Any]], conversation_b: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """``{"a": counts, "b": counts, "turns": user turns}`` with ``ratings.style.style_counts``."""
    return {
        "a": style_counts(assistant_text(conversation_a)),
        "b": style_counts(assistant_text(conversation_b)),
        "turns": sum(1 for m in conversation_a if m.get("role") == "user"),
    }


__all__ = ["battle_style"]
