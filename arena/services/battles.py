"""Drawing battles from answer sets; what a voter may see of them."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, func, select

from arena.config import LimitSettings
from arena.db import read_phase
from arena.models import (
    Answer,
    AnswerSet,
    ArenaModel,
    Battle,
    BattlePublic,
    NamedBattlePublic,
    Question,
)
from arena.services.answer_pool import answer_condition
from arena.services.battle_style import battle_style
from arena.services.errors import Forbidden, InvalidInput, NotFound
from arena.services.exposure import record_exposure, unexposed
from arena.services.limits import LimitPolicy, enforce
from arena.services.voters import Voter

_rng = random.SystemRandom()


def conversation(turns: Sequence[str], answers: Sequence[str]) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    for prompt, answer in zip(turns, answers, strict=True):
        messages.append({"role": "user", "content": prompt})
        messages.append({"role": "assistant", "content": answer})
    return messages


def public_view(battle: Battle) -> BattlePublic:
    """The battle as the voter may see it: names only once voted or when named."""
    fields = {
        "battle_id": battle.id,
        "anony": battle.anony,
        "mode": battle.mode,
        "status": battle.status,
        "question_id": battle.question_id,
        "language": battle.language,
        "conversation_a": battle.conversation_a,
        "conversation_b": battle.conversation_b,
    }
    if battle.anony and battle.status != "voted":
        return BattlePublic(**fields)
    return NamedBattlePublic(**fields, model_a=battle.model_a, model_b=battle.model_b)


def _drawable(answer_sets: Sequence[str], named_mode: str | None,
              models: tuple[str, str] | None) -> Any:
    """Answer rows a battle may draw (arena.services.answer_pool), with their model's name."""
    statement = (
        select(Answer.question_pk, ArenaModel.name, Answer.sample, Answer.turns)
        .join(ArenaModel, ArenaModel.id == Answer.model_id)
        .join(Question, Question.id == Answer.question_pk)
        .join(AnswerSet, AnswerSet.id == Question.answer_set_id)
        .where(answer_condition(answer_sets, named_mode))
    )
    if models is not None:
        statement = statement.where(ArenaModel.name.in_(models))
    return statement


def _eligible_questions(drawable: Any) -> Any:
    rows = drawable.with_only_columns(Answer.question_pk, ArenaModel.name).subquery()
    return (
        select(rows.c.question_pk)
        .group_by(rows.c.question_pk)
        .having(func.count(rows.c.name.distinct()) >= 2)
    )


def start_battle(
    session: Session,
    *,
    voter: Voter,
    limits: LimitSettings,
    answer_sets: Sequence[str] = (),
    models: tuple[str, str] | None = None,
    named_mode: str = "on",
    rng: random.Random = _rng,
) -> BattlePublic:
    """Draw a question and two models that both answered it, and store the battle.

    Without *models* the battle is anonymous and the pair is drawn at random, in
    random left/right order, preferring questions the voter has seen no answer to
    named. With *models* it is a named side-by-side battle on the answers
    *named_mode* allows (arena.services.answer_pool: "off" refuses with Forbidden),
    and the voter's exposure to both answers is recorded. Each side shows one of
    its model's samples, drawn at random. Counts against the voter's and the IP's
    battle *limits* (TooManyRequests, nothing stored, when one is full).
    """
    with read_phase(session):
        draw = _draw(session, voter=voter, answer_sets=answer_sets, models=models,
                     named_mode=named_mode, rng=rng)
    question, answer_set, pair, (sample_a, turns_a), (sample_b, turns_b) = draw
    battle = Battle(
        id=secrets.token_hex(16),
        anony=models is None,
        model_a=pair[0],
        model_b=pair[1],
        answer_set=answer_set,
        question_id=question.question_id,
        question_pk=question.id,
        sample_a=sample_a,
        sample_b=sample_b,
        category=question.category,
        language=question.language,
        conversation_a=conversation(question.turns, turns_a),
        conversation_b=conversation(question.turns, turns_b),
        voter_id=voter.id,
        ip_hash=voter.ip_hash,
        ui_language=voter.ui_language,
    )
    battle.style = battle_style(battle.conversation_a, battle.conversation_b)
    battle.ready_at = battle.created_at  # pre-generated answers are shown at once
    enforce(session, LimitPolicy.from_settings(limits), "battle", voter_id=voter.id,
            ip_hash=voter.ip_hash)
    session.add(battle)
    if models is not None:
        record_exposure(session, voter_id=voter.id, question_pk=question.id,  # type: ignore[arg-type]
                        models=pair)
    session.commit()
    return public_view(battle)


Sample = tuple[int, list[str]]


def _draw(session: Session, *, voter: Voter, answer_sets: Sequence[str],
          models: tuple[str, str] | None, named_mode: str,
          rng: random.Random) -> tuple[Question, str | None, list[str], Sample, Sample]:
    """The question, its answer set's name, the pair and each side's sample (reads only)."""
    if models is not None:
        drawable = _drawable(answer_sets, named_mode, models)  # "off" refuses first
        if models[0] == models[1]:
            raise InvalidInput("pick two different models")
        known = set(session.exec(select(ArenaModel.name).where(ArenaModel.name.in_(models))))
        for name in models:
            if name not in known:
                raise NotFound(f"unknown model {name!r}")
    else:
        drawable = _drawable(answer_sets, None, None)
    eligible = _eligible_questions(drawable).subquery()
    # Each eligible question, and whether the voter has seen none of its answers named.
    rows = session.execute(select(eligible.c.question_pk,
                                  unexposed(voter.id, eligible.c.question_pk))).all()
    fresh = [pk for pk, unseen in rows if unseen] if models is None else []
    question_ids = fresh or [pk for pk, _ in rows]
    if not question_ids:
        if models is not None:
            raise NotFound(f"no question answered by both {models[0]} and {models[1]}"
                           + ("" if named_mode == "on" else " among the answers named "
                              "battles may show (battle.named_mode)"))
        raise NotFound("no question has answers from two models: import an answer set first")
    question_pk = rng.choice(sorted(question_ids))
    question, answer_set = session.execute(
        select(Question, AnswerSet.name).join(AnswerSet, AnswerSet.id == Question.answer_set_id)
        .where(Question.id == question_pk)).one()
    samples: dict[str, list[Sample]] = {}
    for _, name, sample, turns in session.execute(
            drawable.where(Answer.question_pk == question_pk).order_by(Answer.sample)):
        samples.setdefault(name, []).append((sample, turns))
    pair = list(models) if models is not None else rng.sample(sorted(samples), 2)
    side_a, side_b = (rng.choice(samples[name]) for name in pair)
    return question, answer_set, pair, side_a, side_b


def battle_for_voter(session: Session, battle_id: str, voter: Voter) -> BattlePublic:
    """The battle as *voter* may see it: only the voter it was shown to may."""
    battle = get_battle(session, battle_id)
    if battle.voter_id != voter.id:
        raise Forbidden("this battle belongs to another voter session")
    return public_view(battle)


def get_battle(session: Session, battle_id: str) -> Battle:
    battle = session.get(Battle, battle_id)
    if battle is None:
        raise NotFound(f"no battle with id {battle_id!r}")
    return battle


def models_with_answers(session: Session, answer_sets: Sequence[str] = (),
                        named_mode: str | None = None) -> list[str]:
    """Models with answers a battle may draw (named battles: by *named_mode*, which may
    refuse as arena.services.answer_pool.answer_condition does)."""
    statement = (
        select(ArenaModel.name)
        .join(Answer, Answer.model_id == ArenaModel.id)
        .join(Question, Question.id == Answer.question_pk)
        .join(AnswerSet, AnswerSet.id == Question.answer_set_id)
        .where(answer_condition(answer_sets, named_mode))
    )
    return sorted(set(session.exec(statement.distinct())))
