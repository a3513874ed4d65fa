"""Prompt deduplication: a live prompt repeated far more than usual weighs less."""

from __future__ import annotations

import secrets

import pytest

from arena.config import load_settings
from arena.context import Arena
from arena.models import Battle, Vote
from arena.services.leaderboard import View
from arena.text import prompt_key


def add_live_votes(arena: Arena, prompt: str, winner_model: str, n: int) -> None:
    with arena.session() as session:
        for _ in range(n):
            message = [{"role": "user", "content": prompt}]
            battle = Battle(id=secrets.token_hex(16), anony=True, mode="live",
                            model_a="alpha", model_b="bravo", conversation_a=message,
                            conversation_b=message, status="voted", voter_id="v",
                            prompt_hash=prompt_key(prompt), language="en")
            session.add(battle)
            session.flush()
            session.add(Vote(battle_id=battle.id,
                             winner="model_a" if winner_model == "alpha" else "model_b"))
        session.commit()


def ratings(arena: Arena, view: View) -> dict[str, float]:
    return {r.model: r.rating for r in arena.leaderboard.board(view).rows}


def test_normalised_prompts_share_a_key() -> None:
    assert prompt_key("Hi!") == prompt_key("  hi ") == prompt_key("ＨＩ") == prompt_key("HI?")
    assert prompt_key("hello") != prompt_key("hi")
    assert prompt_key("你好") == prompt_key("你好！") != prompt_key("您好")


def test_a_flooded_prompt_counts_as_the_threshold(database_url: str) -> None:
    settings = load_settings(database_url=database_url,
                             battle={"load_demo": False, "prompt_dedup_threshold": 10})
    arena = Arena.open(settings, migrate=True)
    peer = Arena.open(load_settings(database_url=database_url.replace("arena.db", "peer.db"),
                                    battle={"load_demo": False}), migrate=True) \
        if database_url.startswith("sqlite") else None
    try:
        add_live_votes(arena, "hi", "alpha", 120)  # a flood: 120 times one prompt
        for k in range(60):
            add_live_votes(arena, f"question number {k}", "bravo", 1)
        deduped = ratings(arena, View())
        raw = ratings(arena, View(dedup_prompts=False))
        assert raw["alpha"] > raw["bravo"]  # counted as cast, the flood wins
        assert deduped["bravo"] > deduped["alpha"]
        if peer is not None:  # the same board as 10 "hi" votes and the 60 others
            add_live_votes(peer, "hi", "alpha", 10)
            for k in range(60):
                add_live_votes(peer, f"question number {k}", "bravo", 1)
            expected = ratings(peer, View(dedup_prompts=False))
            assert deduped == pytest.approx(expected, abs=0.01)
    finally:
        arena.close()
        if peer is not None:
            peer.close()


def test_the_automatic_threshold_leaves_an_ordinary_board_alone(database_url: str) -> None:
    arena = Arena.open(load_settings(database_url=database_url, battle={"load_demo": False}),
                       migrate=True)
    try:
        add_live_votes(arena, "hi", "alpha", 40)  # under the automatic floor of 50
        add_live_votes(arena, "something else", "bravo", 20)
        assert ratings(arena, View()) == ratings(arena, View(dedup_prompts=False))
    finally:
        arena.close()
