"""Answer-set import: the real MT-bench and Arena-Hard folders, our JSONL, bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlmodel import func, select

from arena import services
from arena.formats.answers import read_answer_set
from arena.formats.jsonl import FormatError
from arena.models import Answer, AnswerSet, ArenaModel, Battle, Question
from arena.services.voters import Voter
from tests.utils.limits import NO_LIMITS

VOTER = Voter(id="importer-test-1")


def counts(arena) -> tuple[int, int, int, int]:
    with arena.session() as session:
        return tuple(
            session.exec(select(func.count()).select_from(table)).one()
            for table in (AnswerSet, Question, Answer, ArenaModel)
        )


def test_mt_bench_folder_imports_two_turn_conversations(arena, shared_data: Path) -> None:
    parsed = read_answer_set(shared_data / "mt-bench-answers")
    with arena.session() as session:
        summary = services.import_answer_set(session, parsed)
    assert (summary.source_format, summary.questions, summary.models, summary.answers) == (
        "mt-bench", 80, 32, 2560)
    with arena.session() as session:
        # vicuna-13b-v1.3's file says model_id "vicuna-13b-hao-0515": the file name wins.
        names = set(session.exec(select(ArenaModel.name)))
        assert "vicuna-13b-v1.3" in names and "vicuna-13b-hao-0515" not in names
        battle = services.start_battle(session, limits=NO_LIMITS,
                                       voter=VOTER, models=("gpt-4", "claude-v1"))
        stored = session.get(Battle, battle.battle_id)
    roles = [m.role for m in battle.conversation_a]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert stored.category in {"writing", "roleplay", "reasoning", "math", "coding",
                               "extraction", "stem", "humanities"}
    question = json.loads(
        next(line for line in (shared_data / "mt-bench-answers" / "question.jsonl")
             .read_text().splitlines() if json.loads(line)["question_id"] == int(
                 stored.question_id)))
    assert [battle.conversation_a[0].content, battle.conversation_a[2].content] == question["turns"]


def test_arena_hard_folder_imports_messages_layout(arena, shared_data: Path) -> None:
    parsed = read_answer_set(shared_data / "arena-hard-answers" / "v0.1")
    with arena.session() as session:
        summary = services.import_answer_set(session, parsed)
        battle = services.start_battle(session, limits=NO_LIMITS, voter=VOTER)
    assert (summary.name, summary.source_format, summary.questions, summary.models,
            summary.answers) == ("arena-hard-v0.1", "arena-hard", 500, 3, 1500)
    assert [m.role for m in battle.conversation_a] == ["user", "assistant"]
    assert battle.conversation_a[1].content.strip()


def test_own_jsonl_format_with_languages(arena, tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(
        json.dumps({"question_id": 1, "turns": ["用一句话介绍长城。"],
                    "answers": {"m1": "长城是古代防御工程。", "m2": ["万里长城很长。"]}},
                   ensure_ascii=False) + "\n\n"
        + json.dumps({"question_id": "two", "category": "math", "language": "en",
                      "turns": ["1+1?", "times 3?"],
                      "answers": {"m1": ["2", "6"], "m2": ["2", "6"]}}) + "\n",
        encoding="utf-8",
    )
    parsed = read_answer_set(path)
    assert [q.language for q in parsed.questions] == ["zh", "en"]
    with arena.session() as session:
        services.import_answer_set(session, parsed)
        languages = dict(session.exec(select(Question.question_id, Question.language)).all())
    assert languages == {"1": "zh", "two": "en"}


def _mt_bench_copy(shared_data: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "mt"
    shutil.copytree(shared_data / "mt-bench-answers", folder,
                    ignore=shutil.ignore_patterns("reference_answer"))
    return folder


def test_bad_json_on_line_7_names_file_and_line_and_imports_nothing(
    arena, shared_data: Path, tmp_path: Path
) -> None:
    folder = _mt_bench_copy(shared_data, tmp_path)
    broken = folder / "model_answer" / "gpt-4.jsonl"
    lines = broken.read_text().splitlines()
    lines[6] = lines[6][:40]  # cut line 7 mid-object
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError) as caught:
        read_answer_set(folder)
    assert caught.value.line == 7 and caught.value.path == broken
    assert f"{broken}:7: invalid JSON" in str(caught.value)
    assert counts(arena) == (0, 0, 0, 0)


def test_missing_field_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    good = {"question_id": "a", "turns": ["hi"], "answers": {"m1": ["x"], "m2": ["y"]}}
    path.write_text(json.dumps(good) + "\n" + json.dumps({"question_id": "b", "turns": ["hi"]})
                    + "\n")
    with pytest.raises(FormatError, match=r"set\.jsonl:2: missing field 'answers'"):
        read_answer_set(path)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"question_id": "a", "turns": [], "answers": {}}, "turns must be a non-empty list"),
        ({"question_id": "a", "turns": ["1", "2"], "answers": {"m": ["only one"]}},
         "has 1 turns, the question 2"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_malformed_records_are_explained(tmp_path: Path, record, message) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(FormatError, match=message):
        read_answer_set(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answers": {"m\x001": ["x"], "m2": ["y"]}}, r"model name 'm\\x001' holds a NUL"),
        ({"answers": {"m" * 201: ["x"], "m2": ["y"]}}, "model name .m{60}. is longer than 200"),
        ({"answers": {" ": ["x"], "m2": ["y"]}}, "model name ' ' is empty"),
        ({"question_id": "q\x00"}, "field 'question_id' holds a NUL"),
        ({"category": "c" * 101}, "field 'category' is longer than 100"),
        ({"category": 7}, "field 'category' must be a string"),
        ({"language": "a-very-long-language-tag"}, "field 'language' is longer than 16"),
    ],
)
def test_names_the_database_cannot_hold_are_refused_with_their_line(
        tmp_path: Path, change: dict, message: str) -> None:
    """Refused while reading, before anything is stored (PostgreSQL refuses NUL in text
    and overlong names, mid-import, with no line)."""
    path = tmp_path / "set.jsonl"
    good = {"question_id": "a", "turns": ["hi"], "answers": {"m1": ["x"], "m2": ["y"]}}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "question_id": "b", **change})
                    + "\n")
    with pytest.raises(FormatError, match=rf"set\.jsonl:2: {message}"):
        read_answer_set(path)


def test_names_at_the_limits_are_stored(arena, tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    record = {"question_id": "q" * 200, "category": "c" * 100, "language": "l" * 16,
              "turns": ["hi"], "answers": {"m" * 200: ["x"], "n" * 200: ["y"]}}
    path.write_text(json.dumps(record) + "\n")
    with arena.session() as session:
        summary = services.import_answer_set(session, read_answer_set(path))
    assert (summary.questions, summary.models) == (1, 2)
    assert counts(arena) == (1, 1, 2, 2)


def test_answer_to_unknown_question_names_the_line(shared_data: Path, tmp_path: Path) -> None:
    folder = _mt_bench_copy(shared_data, tmp_path)
    target = folder / "model_answer" / "alpaca-13b.jsonl"
    with target.open("a") as handle:
        handle.write(json.dumps({"question_id": 999, "choices": [{"turns": ["a", "b"]}]}) + "\n")
    with pytest.raises(FormatError, match=r"alpaca-13b\.jsonl:81: question_id '999'"):
        read_answer_set(folder)


def test_second_import_with_same_name_is_refused_and_keeps_the_first(
    arena, tmp_path: Path
) -> None:
    from tests.utils.factories import write_answer_set

    path = write_answer_set(tmp_path / "set.jsonl")
    with arena.session() as session:
        services.import_answer_set(session, read_answer_set(path))
    before = counts(arena)
    with arena.session() as session, pytest.raises(services.Conflict, match="exists already"):
        services.import_answer_set(session, read_answer_set(path))
    assert counts(arena) == before


def test_a_database_failure_mid_import_leaves_nothing_behind(arena) -> None:
    from arena.formats.answers import ParsedAnswerSet, ParsedQuestion

    question = ParsedQuestion(question_id="same", turns=["hi"],
                              answers={"new-model-x": ["a"], "new-model-y": ["b"]})
    parsed = ParsedAnswerSet(name="dup", source_format="arena-jsonl",
                             questions=[question, question])
    with arena.session() as session, pytest.raises(services.Conflict, match="not stored"):
        services.import_answer_set(session, parsed)
    assert counts(arena) == (0, 0, 0, 0)
