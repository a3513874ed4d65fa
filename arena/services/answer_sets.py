"""Storing answer sets, and the demo set that makes a first run votable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from arena.formats.answers import ParsedAnswerSet, read_answer_set, text_hash
from arena.models import Answer, AnswerSet, AnswerText, ArenaModel, Question
from arena.services.errors import Conflict

DEMO_PATH = Path(__file__).resolve().parent.parent / "demo" / "demo_answers.jsonl"
DEMO_NAME = "demo"


@dataclass(frozen=True)
class ImportSummary:
    name: str
    source_format: str
    questions: int
    models: int
    answers: int


def get_or_create_models(session: Session, names: list[str]) -> dict[str, int]:
    """Model ids by name, creating missing models (not committed)."""
    ids: dict[str, int] = {}
    if names:
        for model in session.exec(select(ArenaModel).where(ArenaModel.name.in_(names))):
            ids[model.name] = model.id  # type: ignore[assignment]
    missing = [ArenaModel(name=name) for name in names if name not in ids]
    if missing:
        session.add_all(missing)
        session.flush()
        ids.update({model.name: model.id for model in missing})  # type: ignore[misc]
    return ids


def import_answer_set(session: Session, parsed: ParsedAnswerSet) -> ImportSummary:
    """Store a parsed answer set in one transaction: all of it or nothing."""
    if session.exec(select(AnswerSet.id).where(AnswerSet.name == parsed.name)).first():
        raise Conflict(f"an answer set named {parsed.name!r} exists already; choose another name")
    try:
        model_ids = get_or_create_models(session, parsed.models)
        answer_set = AnswerSet(name=parsed.name, source_format=parsed.source_format)
        session.add(answer_set)
        session.flush()
        rows = [
            Question(
                answer_set_id=answer_set.id,  # type: ignore[arg-type]
                question_id=q.question_id,
                category=q.category,
                language=q.language,
                turns=q.turns,
            )
            for q in parsed.questions
        ]
        session.add_all(rows)
        session.flush()
        answers = [
            Answer(question_pk=row.id, model_id=model_ids[model], sample=sample,  # type: ignore[arg-type]
                   turns=turns)
            for row, q in zip(rows, parsed.questions, strict=True)
            for model, samples in q.answers.items()
            for sample, turns in enumerate(samples)
        ]
        session.add_all(answers)
        session.flush()
        session.add_all(
            AnswerText(answer_id=answer.id, turn=turn, text_hash=text_hash(text))  # type: ignore[arg-type]
            for answer in answers for turn, text in enumerate(answer.turns))
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            f"answer set {parsed.name!r} was not stored (duplicate data, or imported "
            f"concurrently): {exc.orig}"
        ) from exc
    except BaseException:
        session.rollback()
        raise
    return ImportSummary(
        name=parsed.name,
        source_format=parsed.source_format,
        questions=len(rows),
        models=len(model_ids),
        answers=len(answers),
    )


def ensure_demo(session: Session) -> ImportSummary | None:
    """Import the bundled demo set when the database has no answer set at all."""
    if session.exec(select(func.count()).select_from(AnswerSet)).one():
        return None
    try:
        return import_answer_set(session, read_answer_set(DEMO_PATH, name=DEMO_NAME))
    except Conflict:  # another process loaded it first
        return None


def list_answer_sets(session: Session) -> list[tuple[str, str, int]]:
    statement = (
        select(AnswerSet.name, AnswerSet.source_format, func.count(Question.id))
        .join(Question, Question.answer_set_id == AnswerSet.id, isouter=True)
        .group_by(AnswerSet.id)
        .order_by(AnswerSet.name)
    )
    return [tuple(row) for row in session.exec(statement)]  # type: ignore[misc]
