"""The usual record's quick reading gives what the full checks give, on every layout."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from arena.formats.jsonl import FormatError
from arena.formats.votes import _checked_vote, _usual_vote, parse_vote

PATH = Path("votes.jsonl")
ODD_VALUES: list[Any] = [None, "", " ", "x", "y" * 201, "é", 0, 1, 2, 1.0, 0.5, True, False,
                         "true", "0", float("nan"), float("inf"), 1700000000, 1700000000.25,
                         [], {}, [{"role": "user", "content": "hi"}], [{"role": "user"}],
                         [{"role": 1, "content": "x"}], ["x"], {"a": 1}, "[]", '{"a": 1}']
KEYS = ["model_a", "model_b", "winner", "judge", "anony", "tstamp", "question_id", "language",
        "category", "answer_set", "identity_leak", "flagged", "too_fast", "suspicious",
        "seen_named", "stats", "conversation_a", "conversation_b", "battle_id", "id",
        "response_a", "winner_model_a"]


def usual() -> dict[str, Any]:
    return {"battle_id": "b1", "question_id": "q1", "model_a": "m-a", "model_b": "m-b",
            "winner": "tie", "judge": "arena_user_" + "0" * 32, "anony": True,
            "language": "en", "turn": 1, "tstamp": 1767225600.123456, "category": None,
            "answer_set": "set", "mode": "answers", "source": None, "identity_leak": False,
            "flagged": False, "too_fast": False, "suspicious": False, "seen_named": False,
            "stats": None,
            "conversation_a": [{"role": "user", "content": "q"},
                               {"role": "assistant", "content": "a"}],
            "conversation_b": [{"role": "user", "content": "q"}]}


def checked(raw: dict[str, Any]) -> Any:
    try:
        return _checked_vote(raw, PATH, 7)
    except FormatError as exc:
        return str(exc)


def test_the_usual_record_is_read_at_once() -> None:
    assert _usual_vote(usual()) == _checked_vote(usual(), PATH, 1)
    assert _usual_vote({"model_a": "a", "model_b": "b", "winner": "model_a"}) is not None


@pytest.mark.parametrize("seed", range(4))
def test_quick_and_full_readings_agree(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(2_000):
        raw = usual()
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(KEYS)
            if rng.random() < 0.15:
                raw.pop(key, None)
            else:
                raw[key] = rng.choice(ODD_VALUES)
        quick = _usual_vote(raw)
        if quick is not None:
            assert quick == checked(raw), raw
        try:
            parsed = parse_vote(raw, PATH, 7)
        except FormatError as exc:
            parsed = str(exc)
        assert parsed == checked(raw)
