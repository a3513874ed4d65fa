"""Several samples per model and question: arena-jsonl shapes, MT-bench choices, storage."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlmodel import select

from arena import services
from arena.formats.answers import read_answer_set
from arena.formats.jsonl import FormatError
from arena.models import Answer, AnswerText, ArenaModel

TWO_TURNS = ["First?", "Second?"]


def jsonl(path: Path, *records: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def test_every_arena_jsonl_answer_shape(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "shapes.jsonl",
                 {"question_id": 1, "turns": "One turn?",
                  "answers": {"plain": "a string", "listed": ["a list"],
                              "sampled": [["sample 0"], ["sample 1"], ["sample 2"]]}},
                 {"question_id": 2, "turns": TWO_TURNS,
                  "answers": {"plain": ["p1", "p2"],
                              "sampled": [["s0 t1", "s0 t2"], ["s1 t1", "s1 t2"]]}})
    first, second = read_answer_set(path).questions
    assert first.answers == {"plain": [["a string"]], "listed": [["a list"]],
                             "sampled": [["sample 0"], ["sample 1"], ["sample 2"]]}
    assert second.answers == {"plain": [["p1", "p2"]],
                              "sampled": [["s0 t1", "s0 t2"], ["s1 t1", "s1 t2"]]}


@pytest.mark.parametrize(("answer", "message"), [
    ([["ok 1", "ok 2"], ["only one turn"]], r"answers\['m'\]\[1\] has 1 turns, the question 2"),
    ([["ok 1", "ok 2"], []], r"answers\['m'\]\[1\] must be a non-empty list of strings"),
    ([["ok 1", "ok 2"], "not a list"], r"answers\['m'\]\[1\] has 1 turns"),
])
def test_a_bad_sample_is_named_with_its_line(tmp_path: Path, answer: object,
                                             message: str) -> None:
    path = jsonl(tmp_path / "bad.jsonl",
                 {"question_id": "fine", "turns": TWO_TURNS, "answers": {"m": ["a", "b"]}},
                 {"question_id": "bad", "turns": TWO_TURNS, "answers": {"m": answer}})
    with pytest.raises(FormatError, match=rf"bad\.jsonl:2: {message}"):
        read_answer_set(path)


def write_mt_bench(folder: Path) -> Path:
    folder.mkdir()
    jsonl(folder / "question.jsonl",
          {"question_id": 81, "category": "writing", "turns": TWO_TURNS},
          {"question_id": 82, "category": "writing", "turns": TWO_TURNS})
    answers = folder / "model_answer"
    answers.mkdir()
    jsonl(answers / "hot-model.jsonl",
          *({"question_id": q, "model_id": "hot-model",
             "choices": [{"index": i, "turns": [f"q{q} c{i} t1", f"q{q} c{i} t2"]}
                         for i in range(3)]} for q in (81, 82)))
    jsonl(answers / "cold-model.jsonl",
          *({"question_id": q, "choices": [{"index": 0, "turns": [f"q{q} cold", "again"]}]}
            for q in (81, 82)))
    return folder


def test_mt_bench_choices_are_samples_and_are_stored(arena, tmp_path: Path) -> None:
    parsed = read_answer_set(write_mt_bench(tmp_path / "mt"))
    assert parsed.source_format == "mt-bench"
    assert parsed.questions[0].answers["hot-model"] == [
        ["q81 c0 t1", "q81 c0 t2"], ["q81 c1 t1", "q81 c1 t2"], ["q81 c2 t1", "q81 c2 t2"]]
    with arena.session() as session:
        summary = services.import_answer_set(session, parsed)
        rows = session.exec(select(ArenaModel.name, Answer.sample, Answer.turns, Answer.id)
                            .join(ArenaModel, ArenaModel.id == Answer.model_id)).all()
        hashes = {(t.answer_id, t.turn): t.text_hash for t in session.exec(select(AnswerText))}
    assert (summary.questions, summary.models, summary.answers) == (2, 2, 8)
    hot = sorted((sample, turns[0]) for name, sample, turns, _ in rows if name == "hot-model")
    assert hot == [(0, "q81 c0 t1"), (0, "q82 c0 t1"), (1, "q81 c1 t1"), (1, "q82 c1 t1"),
                   (2, "q81 c2 t1"), (2, "q82 c2 t1")]
    expected = {(answer_id, turn): hashlib.sha256(text.encode()).hexdigest()
                for _, _, turns, answer_id in rows for turn, text in enumerate(turns)}
    assert hashes == expected and len(hashes) == 16  # 8 answers of 2 turns


def test_mt_bench_choice_with_the_wrong_turn_count_is_refused(tmp_path: Path) -> None:
    folder = write_mt_bench(tmp_path / "mt")
    jsonl(folder / "model_answer" / "cold-model.jsonl",
          {"question_id": 81, "choices": [{"turns": ["a", "b"]}, {"turns": ["only one"]}]})
    with pytest.raises(FormatError, match="cold-model.jsonl:1: 1 answer turns"):
        read_answer_set(folder)
