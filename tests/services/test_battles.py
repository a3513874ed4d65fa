"""Drawing battles and voting, through the service layer on a real database."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlmodel import func, select

from arena import services
from arena.context import Arena
from arena.models import Battle, Vote
from arena.services.voters import Voter
from tests.utils.factories import MODELS, import_small_set
from tests.utils.limits import NO_LIMITS

ALICE = Voter(id="alice-browser-1", ip_hash="h1", ui_language="en")
BOB = Voter(id="bob-browser-22", ip_hash="h2", ui_language="zh-CN")


def count(session, table) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def test_anonymous_battle_hides_names_and_stores_everything(arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path)
    with arena.session() as session:
        public = services.start_battle(session, limits=NO_LIMITS, voter=ALICE)
        dumped = public.model_dump_json()
        assert not any(model in dumped for model in MODELS)
        stored = session.get(Battle, public.battle_id)
    assert stored.anony and stored.status == "ready"
    assert stored.model_a != stored.model_b and {stored.model_a, stored.model_b} <= set(MODELS)
    assert stored.voter_id == ALICE.id and stored.ip_hash == "h1" and stored.ui_language == "en"
    assert stored.answer_set == "small" and stored.question_id.startswith("q")
    assert stored.conversation_a[0]["role"] == "user"
    assert stored.conversation_a[0]["content"] == stored.conversation_b[0]["content"]
    assert stored.created_at is not None


def test_left_right_placement_is_random(arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, models=MODELS[:2])
    rng = random.Random(7)
    with arena.session() as session:
        for k in range(40):  # a voter of their own each: one voter is never shown a repeat
            services.start_battle(session, limits=NO_LIMITS, rng=rng,
                                  voter=Voter(id=f"voter-{k}", ip_hash="h", ui_language="en"))
        left = session.exec(select(Battle.model_a)).all()
    assert set(left) == set(MODELS[:2])


def test_vote_reveals_names_and_is_stored_once(arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path)
    with arena.session() as session:
        battle = services.start_battle(session, limits=NO_LIMITS, voter=ALICE)
        result = services.record_vote(session, limits=NO_LIMITS,
                                      battle_id=battle.battle_id, winner="tie",
                                      voter=ALICE)
        stored = session.get(Battle, battle.battle_id)
        assert (result.model_a, result.model_b) == (stored.model_a, stored.model_b)
        assert stored.status == "voted"
        with pytest.raises(services.Conflict):
            services.record_vote(session, limits=NO_LIMITS,
                                 battle_id=battle.battle_id, winner="model_a",
                                 voter=ALICE)
        vote = session.exec(select(Vote)).one()
    assert vote.winner == "tie" and vote.battle_id == battle.battle_id
    assert vote.created_at >= stored.created_at.replace(tzinfo=vote.created_at.tzinfo)


@pytest.mark.parametrize(
    ("battle_id", "winner", "voter", "error"),
    [
        ("own", "model_a", BOB, services.Forbidden),
        ("unknown", "model_a", ALICE, services.NotFound),
        ("own", "model_c", ALICE, services.InvalidInput),
    ],
)
def test_refused_votes_store_nothing(arena, tmp_path, battle_id, winner, voter, error) -> None:
    import_small_set(arena, tmp_path)
    with arena.session() as session:
        battle = services.start_battle(session, limits=NO_LIMITS, voter=ALICE)
        target = battle.battle_id if battle_id == "own" else "0" * 32
        with pytest.raises(error):
            services.record_vote(session, limits=NO_LIMITS,
                                 battle_id=target, winner=winner, voter=voter)
        assert count(session, Vote) == 0
        assert session.get(Battle, battle.battle_id).status == "ready"


def test_failed_battle_cannot_be_voted(arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path)
    with arena.session() as session:
        battle = services.start_battle(session, limits=NO_LIMITS, voter=ALICE)
        stored = session.get(Battle, battle.battle_id)
        stored.status = "failed"
        session.add(stored)
        session.commit()
        with pytest.raises(services.Conflict, match="did not complete"):
            services.record_vote(session, limits=NO_LIMITS,
                                 battle_id=battle.battle_id, winner="model_a",
                                 voter=ALICE)
        assert count(session, Vote) == 0


def test_side_by_side_battle_is_named_and_not_anonymous(arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path)
    with arena.session() as session:
        battle = services.start_battle(session, limits=NO_LIMITS,
                                       voter=ALICE, models=(MODELS[2], MODELS[0]))
        assert (battle.model_a, battle.model_b) == (MODELS[2], MODELS[0])
        stored = session.get(Battle, battle.battle_id)
        assert stored.anony is False
        with pytest.raises(services.InvalidInput):
            services.start_battle(session, limits=NO_LIMITS,
                                  voter=ALICE, models=(MODELS[0], MODELS[0]))
        with pytest.raises(services.NotFound, match="unknown model"):
            services.start_battle(session, limits=NO_LIMITS,
                                  voter=ALICE, models=(MODELS[0], "nobody"))


def test_no_answer_set_gives_a_clear_error(arena) -> None:
    with arena.session() as session, pytest.raises(services.NotFound, match="import an answer"):
        services.start_battle(session, limits=NO_LIMITS, voter=ALICE)


def test_battles_draw_only_from_configured_answer_sets(arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path)
    import_small_set(arena, tmp_path, name="other", models=("delta-1b", "echo-2b"))
    with arena.session() as session:
        for k in range(20):
            services.start_battle(session, limits=NO_LIMITS, answer_sets=["small"],
                                  voter=Voter(id=f"voter-{k}", ip_hash="h", ui_language="en"))
        fought = set(session.exec(select(Battle.model_a))) | set(
            session.exec(select(Battle.model_b)))
    assert fought <= set(MODELS)


def test_an_answer_set_imported_later_is_drawn_at_once_by_every_process(
        arena, settings, tmp_path: Path) -> None:
    """The pool is cached per process until the answer sets change: an import by another
    process (here another Arena on the same database) is in this one's next battle."""
    import_small_set(arena, tmp_path, models=MODELS[:2])
    newcomers = ("delta-1b", "echo-2b")
    other = Arena.open(settings)
    try:
        with other.session() as session:  # the other process draws (and caches) first
            services.start_battle(session, limits=NO_LIMITS, voter=ALICE, models=MODELS[:2])
        import_small_set(arena, tmp_path, name="later", models=newcomers)
        with other.session() as session:
            battle = services.start_battle(session, limits=NO_LIMITS, voter=ALICE,
                                           models=newcomers)
    finally:
        other.close()
    assert (battle.model_a, battle.model_b) == newcomers


def test_model_stats_count_wins_and_half_ties(arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, models=MODELS[:2])
    with arena.session() as session:
        for winner in ("model_a", "model_a", "tie", "model_b"):
            battle = services.start_battle(session, limits=NO_LIMITS, voter=ALICE)
            services.record_vote(session, limits=NO_LIMITS,
                                 battle_id=battle.battle_id, winner=winner, voter=ALICE)
        battles = session.exec(select(Battle, Vote).join(Vote)).all()
        stats = {row.model: row for row in services.model_stats(session)}
    expected_wins = dict.fromkeys(MODELS[:2], 0.0)
    for battle, vote in battles:
        if vote.winner == "model_a":
            expected_wins[battle.model_a] += 1
        elif vote.winner == "model_b":
            expected_wins[battle.model_b] += 1
        else:
            expected_wins[battle.model_a] += 0.5
            expected_wins[battle.model_b] += 0.5
    for model, wins in expected_wins.items():
        assert stats[model].votes == 4
        assert stats[model].win_rate == pytest.approx(wins / 4)
