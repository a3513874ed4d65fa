"""Named views teach voters whose answer is whose: exposure, `seen_named`, named_mode.

On SQLite and PostgreSQL (the `arena` fixture), through the services.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlmodel import select

from arena import services
from arena.context import Arena
from arena.formats.answers import read_answer_set
from arena.models import Battle, NamedExposure, Vote
from arena.services.answer_pool import NAMED_OFF
from arena.services.export import ExportFilters, iter_record_batches
from arena.services.leaderboard import View
from arena.services.voters import Voter
from tests.data.helpers import export_to, import_from, read_records
from tests.utils.factories import MODELS, import_small_set
from tests.utils.limits import NO_LIMITS
from tests.utils.processes import arena_env, run_arena

ALICE = Voter(id="alice-browser-1", ip_hash="h1", ui_language="en")
BOB = Voter(id="bob-browser-22", ip_hash="h2", ui_language="en")


def write_set(path: Path, questions: dict[str, dict[str, object]]) -> Path:
    """An arena-jsonl file: question id -> {model: answer (or list of samples)}."""
    lines = [{"question_id": qid, "turns": [f"Prompt {qid}?"], "answers": answers}
             for qid, answers in questions.items()]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def import_file(arena: Arena, path: Path) -> None:
    with arena.session() as session:
        services.import_answer_set(session, read_answer_set(path))


def draw(arena: Arena, voter: Voter, **kwargs: object) -> Battle:
    with arena.session() as session:
        shown = services.start_battle(session, limits=NO_LIMITS, voter=voter, **kwargs)
        return session.get(Battle, shown.battle_id)


def vote(arena: Arena, voter: Voter, battle: Battle, winner: str = "model_a") -> Vote:
    with arena.session() as session:
        services.record_vote(session, battle_id=battle.id, winner=winner, voter=voter,
                             limits=NO_LIMITS)
        return session.exec(select(Vote).where(Vote.battle_id == battle.id)).one()


def board_votes(arena: Arena, **view: bool) -> int:
    return sum(row.votes for row in arena.leaderboard.board(View(**view)).rows) // 2


def export(arena: Arena, **filters: bool) -> list[dict[str, object]]:
    with arena.session() as session:
        return [record for batch in iter_record_batches(
            session, salt=arena.salt, filters=ExportFilters(**filters)) for record in batch]


def test_named_view_then_anonymous_vote_is_flagged_and_left_out(arena: Arena,
                                                                 tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, questions=1)  # one prompt: the anonymous draw meets it
    named = draw(arena, ALICE, models=(MODELS[0], MODELS[1]))
    anonymous = draw(arena, ALICE)
    assert anonymous.question_pk == named.question_pk
    assert {anonymous.model_a, anonymous.model_b} & {MODELS[0], MODELS[1]}  # always, of 3
    assert vote(arena, ALICE, anonymous).seen_named is True
    clean = draw(arena, BOB)  # another voter saw nothing named
    assert vote(arena, BOB, clean).seen_named is False

    assert board_votes(arena) == 1
    assert board_votes(arena, include_seen_named=True) == 2
    assert [r["seen_named"] for r in export(arena, anony_only=True)] == [False]
    flags = {r["battle_id"]: r["seen_named"]
             for r in export(arena, anony_only=True, include_seen_named=True)}
    assert flags == {anonymous.id: True, clean.id: False}


def test_the_reveal_after_a_vote_exposes_too(arena: Arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, questions=1, models=MODELS[:3])
    first = draw(arena, ALICE)  # the next draw: the same question, another pair
    assert vote(arena, ALICE, first).seen_named is False
    with arena.session() as session:
        exposed = {(e.question_pk, e.model) for e in session.exec(select(NamedExposure))}
    assert exposed == {(first.question_pk, first.model_a), (first.question_pk, first.model_b)}
    assert vote(arena, ALICE, draw(arena, ALICE)).seen_named is True


def test_a_different_question_is_not_flagged(arena: Arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, questions=2)
    named = draw(arena, ALICE, models=(MODELS[0], MODELS[1]))
    anonymous = draw(arena, ALICE)  # the unexposed prompt is preferred
    assert anonymous.question_pk != named.question_pk
    assert vote(arena, ALICE, anonymous).seen_named is False
    assert board_votes(arena) == 1


def test_a_named_view_while_a_battle_is_open_flags_its_vote(arena: Arena,
                                                            tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, questions=1, models=MODELS[:2])
    anonymous = draw(arena, ALICE)
    draw(arena, ALICE, models=(MODELS[1], MODELS[0]))  # peeks before voting
    assert vote(arena, ALICE, anonymous).seen_named is True


def test_named_mode_off_refuses_named_battles(arena: Arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path)
    with arena.session() as session, pytest.raises(services.Forbidden, match="turned off"):
        services.start_battle(session, limits=NO_LIMITS, voter=ALICE, named_mode="off",
                              models=(MODELS[0], MODELS[1]))
    with arena.session() as session:
        with pytest.raises(services.Forbidden) as refused:
            services.models_with_answers(session, named_mode="off")
        assert str(refused.value) == NAMED_OFF
        assert session.exec(select(Battle)).all() == []
    assert draw(arena, ALICE, named_mode="off").anony  # anonymous battles go on


def test_named_mode_separate_needs_a_set_anonymous_battles_do_not_draw(
        arena: Arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, name="anon")
    with arena.session() as session, pytest.raises(services.NotFound, match="answer_sets"):
        services.start_battle(session, limits=NO_LIMITS, voter=ALICE, named_mode="separate",
                              models=(MODELS[0], MODELS[1]))
    write_set(tmp_path / "reference.jsonl",
              {"r1": {"ref-model-1": "Reference one.", "ref-model-2": "Reference two."}})
    import_file(arena, tmp_path / "reference.jsonl")
    with arena.session() as session:
        assert services.models_with_answers(session, ["anon"], named_mode="separate") == [
            "ref-model-1", "ref-model-2"]
        assert services.models_with_answers(session, ["anon"], named_mode="on") == sorted(
            MODELS)
        with pytest.raises(services.NotFound, match="among the answers named battles"):
            services.start_battle(session, limits=NO_LIMITS, voter=ALICE, answer_sets=["anon"],
                                  named_mode="separate", models=(MODELS[0], MODELS[1]))
    named = draw(arena, ALICE, answer_sets=["anon"], named_mode="separate",
                 models=("ref-model-1", "ref-model-2"))
    assert (named.answer_set, named.anony) == ("reference", False)
    anonymous = draw(arena, ALICE, answer_sets=["anon"], named_mode="separate")
    assert anonymous.answer_set == "anon"
    assert vote(arena, ALICE, anonymous).seen_named is False


def test_named_mode_on_is_todays_behaviour_with_the_flag(arena: Arena,
                                                         tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, questions=1, name="anon")
    named = draw(arena, ALICE, answer_sets=["anon"], named_mode="on",
                 models=(MODELS[2], MODELS[0]))
    assert (named.model_a, named.model_b, named.answer_set) == (MODELS[2], MODELS[0], "anon")
    assert vote(arena, ALICE, draw(arena, ALICE, answer_sets=["anon"])).seen_named is True


def assistant_texts(battle: Battle) -> set[str]:
    return {m["content"] for side in (battle.conversation_a, battle.conversation_b)
            for m in side if m["role"] == "assistant"}


def test_separate_named_battles_never_show_an_anonymous_answer(arena: Arena,
                                                               tmp_path: Path) -> None:
    """The hidden assumption: "another answer set" is not "other texts". A copy of the
    anonymous set under another name, and a set sharing some answers with it, must
    not put one anonymous answer into a named battle."""
    import_small_set(arena, tmp_path, questions=4, name="anon")
    import_small_set(arena, tmp_path, questions=4, name="anon-copy")  # identical texts
    mixed = {f"m{n}": {MODELS[0]: f"Answer {n} in style 0.",  # the anonymous text
                       MODELS[1]: f"Fresh answer {n} from bravo.",
                       "delta-3b": f"Delta answer {n}.",
                       "echo-1b": [[f"Echo answer {n}, sample {s}."] for s in range(2)]}
             for n in range(1, 5)}
    import_file(arena, write_set(tmp_path / "mixed.jsonl", mixed))
    rng = random.Random(17)
    rules = {"answer_sets": ["anon"], "named_mode": "separate", "rng": rng}
    with arena.session() as session:
        offered = services.models_with_answers(session, ["anon"], named_mode="separate")
    assert offered == sorted([MODELS[1], "delta-3b", "echo-1b"])  # alpha's are all known

    named_texts: set[str] = set()
    for k in range(60):
        pair = rng.sample(offered, 2)
        battle = draw(arena, Voter(id=f"named-voter-{k % 5}"), models=tuple(pair), **rules)
        assert battle.answer_set == "mixed"
        named_texts |= assistant_texts(battle)
    anonymous_texts: set[str] = set()
    for k in range(60):
        anonymous_texts |= assistant_texts(draw(arena, Voter(id=f"anon-voter-{k % 5}"),
                                                **rules))
    assert len(anonymous_texts) == 12 and len(named_texts) == 4 * 4  # all were drawn
    assert named_texts.isdisjoint(anonymous_texts)
    # alpha's answers in "mixed" are anonymous texts: a rule by set name alone would leak
    assert {f"Answer {n} in style 0." for n in range(1, 5)} <= anonymous_texts


def test_every_sample_is_drawn_and_stored(arena: Arena, tmp_path: Path) -> None:
    samples = {"x-model": [[f"x sample {s}"] for s in range(3)],
               "y-model": [[f"y sample {s}"] for s in range(4)],
               "z-model": "z only answer"}
    import_file(arena, write_set(tmp_path / "samples.jsonl", {"q1": samples}))
    rng = random.Random(5)
    seen: set[tuple[str, int, str]] = set()
    for k in range(300):
        battle = draw(arena, Voter(id=f"voter-{k}"), rng=rng)
        for model, sample, side in ((battle.model_a, battle.sample_a, battle.conversation_a),
                                    (battle.model_b, battle.sample_b, battle.conversation_b)):
            seen.add((model, sample, side[1]["content"]))
    expected = {("x-model", s, f"x sample {s}") for s in range(3)}
    expected |= {("y-model", s, f"y sample {s}") for s in range(4)}
    expected |= {("z-model", 0, "z only answer")}
    assert seen == expected


def test_the_flag_survives_export_and_import_and_the_command_asks_for_it(
        arena: Arena, database_url: str, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, questions=1, models=MODELS[:3])
    for _ in range(2):
        vote(arena, ALICE, draw(arena, ALICE))  # the second after the first's reveal
    path = tmp_path / "votes.jsonl"
    export_to(arena, path, "jsonl", filters=ExportFilters(include_seen_named=True))
    assert [r["seen_named"] for r in read_records(path)] == [False, True]
    import_from(arena, path, source="again")
    again = export(arena, include_seen_named=True, source="again")
    assert [r["seen_named"] for r in again] == [False, True]
    assert board_votes(arena) == 2  # the first vote and its imported copy

    env = arena_env(database_url)
    out = tmp_path / "cli.jsonl"
    for flags, expected in (((), 2), (("--include-seen-named",), 4)):
        done = run_arena("export", "votes", "--out", str(out), *flags, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        assert len(read_records(out)) == expected


def test_separate_leaves_out_an_answer_sharing_one_turn_with_the_pool(arena: Arena,
                                                                      tmp_path: Path) -> None:
    def two_turns(name: str, answers: dict[str, list[str]]) -> None:
        record = {"question_id": "t1", "turns": ["First?", "Second?"], "answers": answers}
        (tmp_path / f"{name}.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
        import_file(arena, tmp_path / f"{name}.jsonl")

    two_turns("anon", {"a-model": ["Shared opening.", "A's second."],
                       "b-model": ["B's first.", "B's second."]})
    two_turns("named", {"a-model": ["Shared opening.", "A regenerated second."],
                        "c-model": ["C's first.", "C's second."],
                        "d-model": ["D's first.", "D's second."]})
    with arena.session() as session:
        offered = services.models_with_answers(session, ["anon"], named_mode="separate")
    assert offered == ["c-model", "d-model"]
