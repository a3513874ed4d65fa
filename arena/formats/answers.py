"""Readers for answer sets: prompts with pre-generated answers from named models.

Layouts:
- ``arena-jsonl``: our own file, one question per line with every model's answers,
  one or several samples each (see README, "Answer set format").
- ``mt-bench``: a folder with ``question.jsonl`` (``question_id``, ``category``,
  ``turns``) and ``model_answer/<model>.jsonl`` (``choices[i].turns``: each choice
  is one sample).
- ``arena-hard``: a folder with ``question.jsonl`` (``uid``, ``category``, ``prompt``)
  and ``model_answer/<model>.jsonl`` (``messages`` with ``{"answer": ...}`` contents).

The model name is the answer file's name, as FastChat does (some files carry a
different ``model_id`` inside). Everything is parsed and checked before anything
is stored, so a bad line imports nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arena.formats.jsonl import FormatError, iter_jsonl, require
from arena.text import detect_language


def text_hash(text: str) -> str:
    """The identity of one answer turn's text (arena.models.AnswerText)."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ParsedQuestion:
    question_id: str
    turns: list[str]
    category: str | None = None
    language: str | None = None
    # model -> its samples, each one answer per turn
    answers: dict[str, list[list[str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedAnswerSet:
    name: str
    source_format: str
    questions: list[ParsedQuestion]

    @property
    def models(self) -> list[str]:
        return sorted({model for q in self.questions for model in q.answers})


def read_answer_set(path: Path | str, *, name: str | None = None) -> ParsedAnswerSet:
    """Parse a file or folder in one of the supported layouts."""
    path = Path(path)
    if path.is_file():
        return _read_arena_jsonl(path, name or path.stem)
    if path.is_dir():
        questions_file = path / "question.jsonl"
        answers_dir = path / "model_answer"
        if questions_file.is_file() and answers_dir.is_dir():
            return _read_question_folder(path, questions_file, answers_dir, name)
        raise FormatError(path, "a folder must hold question.jsonl and model_answer/")
    raise FormatError(path, "no such file or folder")


def _name(value: Any, what: str, limit: int, path: Path, line: int) -> str:
    """A question id, model name or category as the database holds it, or FormatError."""
    value = str(value)
    if not value.strip():
        raise FormatError(path, f"{what} is empty", line=line)
    if len(value) > limit:
        raise FormatError(path, f"{what} is longer than {limit} characters", line=line)
    if "\x00" in value:  # PostgreSQL's text columns refuse it
        raise FormatError(path, f"{what} holds a NUL character (\\u0000)", line=line)
    return value


def _optional(record: dict[str, Any], key: str, limit: int, path: Path,
              line: int) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str) and not value.strip():
        return None
    if not isinstance(value, str):
        raise FormatError(path, f"field {key!r} must be a string", line=line)
    return _name(value, f"field {key!r}", limit, path, line)


def _text_list(value: Any, what: str, path: Path, line: int) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise FormatError(path, f"{what} must be a non-empty list of strings", line=line)
    return value


def _read_arena_jsonl(path: Path, name: str) -> ParsedAnswerSet:
    questions: list[ParsedQuestion] = []
    seen: set[str] = set()
    for line, record in iter_jsonl(path):
        question_id = _name(require(record, "question_id", (str, int), path, line),
                            "field 'question_id'", 200, path, line)
        if question_id in seen:
            raise FormatError(path, f"duplicate question_id {question_id!r}", line=line)
        seen.add(question_id)
        turns = _text_list(require(record, "turns", (list, str), path, line), "turns", path, line)
        raw_answers = require(record, "answers", dict, path, line)
        answers: dict[str, list[list[str]]] = {}
        for model, answer in raw_answers.items():
            _name(model, f"model name {model[:60]!r}", 200, path, line)
            # A list of lists is a list of samples; a list of strings (or a string) is one.
            many = isinstance(answer, list) and bool(answer) and isinstance(answer[0], list)
            samples = answer if many else [answer]
            answers[model] = []
            for number, sample in enumerate(samples):
                what = f"answers[{model!r}]" + (f"[{number}]" if many else "")
                answer_turns = _text_list(sample, what, path, line)
                if len(answer_turns) != len(turns):
                    raise FormatError(
                        path, f"{what} has {len(answer_turns)} turns, the question {len(turns)}",
                        line=line)
                answers[model].append(answer_turns)
        questions.append(
            ParsedQuestion(
                question_id=question_id,
                turns=turns,
                category=_optional(record, "category", 100, path, line),
                language=(_optional(record, "language", 16, path, line)
                          or detect_language(turns[0])),
                answers=answers,
            )
        )
    if not questions:
        raise FormatError(path, "no questions in file")
    return ParsedAnswerSet(name=name, source_format="arena-jsonl", questions=questions)


def _question_turns(record: dict[str, Any], path: Path, line: int) -> list[str]:
    if "prompt" in record:
        return _text_list(record["prompt"], "prompt", path, line)
    turns = require(record, "turns", list, path, line)
    if turns and all(isinstance(t, dict) for t in turns):  # older Arena-Hard: [{"content": ...}]
        turns = [t.get("content") for t in turns]
    return _text_list(turns, "turns", path, line)


def _answer_samples(record: dict[str, Any], path: Path, line: int) -> list[list[str]]:
    """One sample per ``choices`` entry (MT-bench, older Arena-Hard), or ``messages``."""
    if "messages" in record:
        messages = require(record, "messages", list, path, line)
        contents = []
        for message in messages:
            if not isinstance(message, dict) or message.get("role") != "assistant":
                continue
            content = message.get("content")
            if isinstance(content, dict):
                content = content.get("answer")
            contents.append(content)
        return [_text_list(contents, "assistant messages", path, line)]
    choices = require(record, "choices", list, path, line)
    if not choices or not all(isinstance(choice, dict) for choice in choices):
        raise FormatError(path, "field 'choices' must hold objects", line=line)
    samples = []
    for number, choice in enumerate(choices):
        turns = choice.get("turns")
        if isinstance(turns, list) and all(isinstance(t, dict) for t in turns):
            turns = [t.get("content") for t in turns]
        samples.append(_text_list(turns, f"choices[{number}].turns", path, line))
    return samples


def _read_question_folder(
    folder: Path, questions_file: Path, answers_dir: Path, name: str | None
) -> ParsedAnswerSet:
    questions: dict[str, ParsedQuestion] = {}
    arena_hard = False
    for line, record in iter_jsonl(questions_file):
        arena_hard = arena_hard or "uid" in record or "prompt" in record
        key = "uid" if "uid" in record else "question_id"
        question_id = _name(require(record, key, (str, int), questions_file, line),
                            f"field {key!r}", 200, questions_file, line)
        if question_id in questions:
            raise FormatError(questions_file, f"duplicate {key} {question_id!r}", line=line)
        turns = _question_turns(record, questions_file, line)
        questions[question_id] = ParsedQuestion(
            question_id=question_id,
            turns=turns,
            category=_optional(record, "category", 100, questions_file, line),
            language=detect_language(turns[0]),
        )
    if not questions:
        raise FormatError(questions_file, "no questions in file")
    answer_files = sorted(answers_dir.glob("*.jsonl"))
    if not answer_files:
        raise FormatError(answers_dir, "no <model>.jsonl answer files")
    for answer_file in answer_files:
        model = _name(answer_file.stem, f"model name {answer_file.stem!r} (the file's name)",
                      200, answer_file, 1)
        for line, record in iter_jsonl(answer_file):
            key = "uid" if "uid" in record else "question_id"
            question_id = str(require(record, key, (str, int), answer_file, line))
            question = questions.get(question_id)
            if question is None:
                raise FormatError(answer_file, f"{key} {question_id!r} is not in question.jsonl",
                                  line=line)
            if model in question.answers:
                raise FormatError(answer_file, f"second answer to {question_id!r}", line=line)
            samples = _answer_samples(record, answer_file, line)
            for answer in samples:
                if len(answer) != len(question.turns):
                    raise FormatError(
                        answer_file,
                        f"{len(answer)} answer turns for a {len(question.turns)}-turn question",
                        line=line,
                    )
            question.answers[model] = samples
    source_format = "arena-hard" if arena_hard else "mt-bench"
    if name is None:
        categories = {q.category for q in questions.values()}
        single = categories.pop() if len(categories) == 1 else None
        name = single if arena_hard and single else source_format
    return ParsedAnswerSet(name=name, source_format=source_format,
                           questions=list(questions.values()))
