"""Battles with votes written straight to the database, with the attributes a view filters on."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from arena.context import Arena
from arena.models import Battle, Vote
from arena.services.battle_style import battle_style
from arena.text import prompt_key

MODELS = ("alpha", "bravo", "charlie", "delta")
WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")


@dataclass(frozen=True)
class Spec:
    model_a: str
    model_b: str
    winner: str
    anony: bool = True
    language: str | None = "en"
    category: str | None = None
    turns: int = 1
    identity_leak: bool = False
    flagged: bool = False
    source: str | None = None
    answer_a: str = "Short answer."
    answer_b: str = "A longer answer.\n\n## Header\n- item one\n- item two\n**bold** text"
    store_style: bool = True
    prompt: str | None = None  # a live battle's prompt key (arena.text.prompt_key)

    def conversations(self) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        conv_a: list[dict[str, str]] = []
        conv_b: list[dict[str, str]] = []
        for turn in range(self.turns):
            for conv, answer in ((conv_a, self.answer_a), (conv_b, self.answer_b)):
                conv.append({"role": "user", "content": f"Question {turn}?"})
                conv.append({"role": "assistant", "content": answer})
        return conv_a, conv_b

    def record(self) -> dict[str, Any]:
        """The same vote as a clean_battle record for ``ratings``."""
        conv_a, conv_b = self.conversations()
        return {"model_a": self.model_a, "model_b": self.model_b, "winner": self.winner,
                "conversation_a": conv_a, "conversation_b": conv_b}


def add_votes(arena: Arena, specs: list[Spec]) -> None:
    with arena.session() as session:
        for spec in specs:
            conv_a, conv_b = spec.conversations()
            battle = Battle(
                id=secrets.token_hex(16), anony=spec.anony,
                mode="import" if spec.source else "answers",
                model_a=spec.model_a, model_b=spec.model_b, category=spec.category,
                language=spec.language, conversation_a=conv_a, conversation_b=conv_b,
                status="voted", voter_id="factory", identity_leak=spec.identity_leak,
                flagged=spec.flagged, source=spec.source,
                source_id=secrets.token_hex(8) if spec.source else None,
                style=battle_style(conv_a, conv_b) if spec.store_style else None,
                prompt_hash=spec.prompt,
            )  # fmt: skip
            session.add(battle)
            session.flush()
            session.add(Vote(battle_id=battle.id, winner=spec.winner))
        session.commit()


def random_specs(n: int, *, seed: int = 0, **fields: Any) -> list[Spec]:
    """``n`` votes among MODELS; answers of random length, varied attributes; two in
    three from a live prompt of twelve."""
    rng = random.Random(seed)
    prompts = random.Random(seed + 7919)  # its own draws: the others stay as they were
    specs = []
    for _ in range(n):
        a, b = rng.sample(MODELS, 2)
        strength = MODELS.index(a) - MODELS.index(b)
        winner = rng.choices(WINNERS, weights=(3 + strength, 3 - strength, 1.5, 0.5))[0]
        attrs = {
            "anony": rng.random() < 0.8,
            "language": rng.choice(("en", "en", "zh", "other", None)),
            "category": rng.choice(("writing", "coding", "math", None)),
            "turns": rng.choice((1, 1, 2)),
            "answer_a": "word " * rng.randint(1, 40) + "\n- item" * rng.randint(0, 3),
            "answer_b": "## Title\n" * rng.randint(0, 2) + "**x** y " * rng.randint(1, 30),
            "prompt": (prompt_key(f"question {prompts.randrange(12)}")
                       if prompts.random() < 2 / 3 else None),
        }
        attrs.update(fields)
        specs.append(Spec(a, b, winner, **attrs))
    return specs


def reorder_last_two(arena: Arena) -> tuple[int, dict[str, Any]]:
    """Two new votes made to look committed out of id order, as PostgreSQL allows: the
    later id (last + 50) is visible, the earlier one (last + 20) is deleted; returns that
    id and the fields to insert it again with (its commit comes later)."""
    with arena.session() as session:
        last = max(session.exec(select(Vote.id)).all())
    add_votes(arena, random_specs(2, seed=4))
    with arena.session() as session:
        late, early = session.exec(select(Vote).where(Vote.id > last).order_by(Vote.id)).all()
        late.id, early.id = last + 50, last + 20
        session.add(late)
        session.commit()
        session.delete(early)
        session.commit()
        return last + 20, {"battle_id": early.battle_id, "winner": early.winner}
