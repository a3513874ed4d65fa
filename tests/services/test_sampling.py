"""Pair sampling (arena.services.sampling) and the no-repeat rule, on real databases."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlmodel import select

from arena import services
from arena.config import SamplingSettings, load_settings
from arena.context import Arena
from arena.models import Battle
from arena.services import live
from arena.services.sampling import BoardState, NoPair, Sampler, build_policy
from arena.services.voters import Voter
from arena.text import prompt_key
from tests.leaderboard.factories import add_votes, random_specs
from tests.utils.factories import MODELS, import_small_set
from tests.utils.limits import NO_LIMITS
from tests.utils.waiting import wait_until

NAMES = [f"m{k}" for k in range(6)]
STATE = BoardState({"m0": 0.4, "m1": 0.1, "m2": -0.3},
                   {("m0", "m1"): 40.0, ("m0", "m2"): 40.0, ("m1", "m2"): 40.0},
                   {"m0": 80, "m1": 80, "m2": 80}, version=1)


def voter(k: int = 0) -> Voter:
    return Voter(id=f"voter-{k}", ip_hash="h", ui_language="en")


@pytest.mark.parametrize("policy", ["uniform", "weighted", "active"])
def test_never_the_same_model_twice_and_every_pair_drawable(policy: str) -> None:
    built = build_policy(SamplingSettings(policy=policy), NAMES, STATE)
    rng = random.Random(1)
    seen = set()
    for _ in range(3000):
        a, b = built.draw(rng)
        assert a != b
        seen.add(frozenset((a, b)))
    assert len(seen) == 15  # every pair of six, new models (no votes) included
    assert sum(built.shares().values()) == pytest.approx(1.0)


@pytest.mark.parametrize("policy", ["uniform", "weighted", "active"])
def test_empty_one_model_and_all_zero_weights_say_why(policy: str) -> None:
    settings = SamplingSettings(policy=policy, weights=dict.fromkeys(NAMES, 0.0))
    for models, message in (([], "no model is available"),
                            (["m0"], "only one model is available"),
                            (NAMES, "sampling weight 0")):
        with pytest.raises(NoPair, match=message):
            build_policy(settings if models == NAMES else SamplingSettings(policy=policy),
                         models, STATE)
    one_left = SamplingSettings(policy=policy, weights=dict.fromkeys(NAMES[1:], 0.0) | {"m0": 1})
    with pytest.raises(NoPair, match="only one model"):
        build_policy(one_left, NAMES, STATE)


def test_weights_and_the_new_model_boost_end_at_the_vote_count() -> None:
    settings = SamplingSettings(policy="weighted", weights={"m0": 2.0},
                                new_model_boost=3.0, new_model_votes=300)
    names = ["m0", "m1", "m2"]

    def probabilities(votes_of_m2: int) -> dict[frozenset[str], float]:
        state = BoardState({}, {}, {"m0": 500, "m1": 500, "m2": votes_of_m2})
        built = build_policy(settings, names, state)
        return {frozenset((built.models[a], built.models[b])): float(p)
                for a, b, p in zip(built.i, built.j, built.probability, strict=True)}

    boosted = probabilities(299)  # weights 2, 1, 3: pairs 2, 6, 3 of 11
    assert boosted[frozenset(("m0", "m1"))] == pytest.approx(2 / 11)
    assert boosted[frozenset(("m0", "m2"))] == pytest.approx(6 / 11)
    grown = probabilities(300)  # weights 2, 1, 1: pairs 2, 2, 1 of 5
    assert grown[frozenset(("m0", "m2"))] == pytest.approx(2 / 5)
    assert grown[frozenset(("m1", "m2"))] == pytest.approx(1 / 5)


def test_a_paused_model_is_never_drawn_from_an_answer_set(arena: Arena,
                                                          tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, questions=20)
    with arena.session() as session:
        for k in range(30):
            services.start_battle(session, voter=voter(k), limits=NO_LIMITS,
                                  paused={MODELS[2]}, sampler=Sampler(SamplingSettings()))
        fought = {m for b in session.exec(select(Battle)) for m in (b.model_a, b.model_b)}
    assert fought == set(MODELS[:2])
    with arena.session() as session, pytest.raises(NoPair, match="only one model"):
        services.start_battle(session, voter=voter(), limits=NO_LIMITS,
                              paused=set(MODELS[1:]))


def test_live_draws_follow_the_policy_and_skip_paused_and_weight_zero(tmp_path: Path) -> None:
    models = [{"name": n, "base_url": "http://127.0.0.1:9/v1",
               "model": n, "weight": 0.0 if n == "m5" else 1.0} for n in NAMES]
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", models=models,
                             battle={"sampling": "uniform"})
    rng = random.Random(2)
    drawn = set()
    for _ in range(400):
        battle = live.draw_battle(settings, {"m4"}, voter=voter(), prompt="hi", rng=rng)
        assert battle.model_a != battle.model_b
        assert battle.prompt_hash == prompt_key("hi")  # for the deduplicated board
        drawn |= {battle.model_a, battle.model_b}
    assert drawn == {"m0", "m1", "m2", "m3"}
    with pytest.raises(live.ModelsUnavailable, match="fewer than two"):
        live.draw_battle(settings, set(NAMES[1:]), voter=voter(), prompt="hi")


def test_a_voter_sees_every_question_before_a_repeat_and_no_pair_twice(
        arena: Arena, tmp_path: Path) -> None:
    questions = 5
    import_small_set(arena, tmp_path, questions=questions)
    import_small_set(arena, tmp_path, name="other", questions=2)
    shown: list[tuple[int, frozenset[str]]] = []
    with arena.session() as session:
        for _ in range(3 * (questions + 2)):  # three models: three pairs per question
            battle = services.start_battle(session, voter=voter(), limits=NO_LIMITS,
                                           sampler=Sampler(SamplingSettings()))
            row = session.get(Battle, battle.battle_id)
            shown.append((row.question_pk, frozenset((row.model_a, row.model_b))))
        with pytest.raises(NoPair, match="every question"):
            services.start_battle(session, voter=voter(), limits=NO_LIMITS)
    assert len(set(shown)) == len(shown)  # never a question with the same pair twice
    # Each answer set: all its questions before any comes back.
    small = [q for q, _ in shown if q <= questions]
    other = [q for q, _ in shown if q > questions]
    assert len(set(small[:questions])) == questions
    assert len(set(other[:2])) == 2
    assert len(set(small)) == questions and len(set(other)) == 2


def test_another_voter_is_not_limited_by_the_first(arena: Arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, questions=1, models=MODELS[:2])
    with arena.session() as session:
        services.start_battle(session, voter=voter(1), limits=NO_LIMITS)
        with pytest.raises(NoPair, match="every question"):
            services.start_battle(session, voter=voter(1), limits=NO_LIMITS)
        services.start_battle(session, voter=voter(2), limits=NO_LIMITS)


def test_the_arena_sampler_reads_the_live_board_without_waiting_for_it(
        database_url: str) -> None:
    settings = load_settings(database_url=database_url, battle={
        "load_demo": False, "sampling": {"policy": "active", "refresh_seconds": 0}})
    arena = Arena.open(settings, migrate=True)
    try:
        add_votes(arena, random_specs(300, seed=3))
        assert arena.sampler.state().votes == {}  # not loaded yet: drawn as if unknown
        wait_until(lambda: bool(arena.sampler.state().votes), timeout=30,
                   what="the board loading in the background")
        state = arena.sampler.state()
        board = {r.model: r for r in arena.leaderboard.board().rows}
        assert {m: state.votes[m] for m in board} == {m: r.votes for m, r in board.items()}
        assert sorted(state.theta, key=state.theta.get) == sorted(board,
                                                                   key=lambda m: board[m].rating)
        newcomer = arena.sampler.policy([*board, "newcomer"]).shares()
        assert max(newcomer, key=newcomer.get) == "newcomer"  # the widest interval
    finally:
        arena.close()
