"""Drawing battles from answer sets; what a voter may see of them."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence

from sqlalchemy.orm import aliased
from sqlmodel import Session, func, select

from arena.config import LimitSettings
from arena.models import (
    Answer,
    AnswerSet,
    ArenaModel,
    Battle,
    BattlePublic,
    NamedBattlePublic,
    Question,
)
from arena.services.battle_style import battle_style
from arena.services.errors import Forbidden, InvalidInput, NotFound
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


def _eligible_questions(answer_sets: Sequence[str], models: tuple[str, str] | None) -> object:
    if models is None:
        statement = (
            select(Question.id)
            .join(Answer, Answer.question_pk == Question.id)
            .group_by(Question.id)
            .having(func.count(Answer.id) >= 2)
        )
    else:
        first, second = aliased(Answer), aliased(Answer)
        model_1, model_2 = aliased(ArenaModel), aliased(ArenaModel)
        statement = (
            select(Question.id)
            .join(first, first.question_pk == Question.id)
            .join(model_1, (model_1.id == first.model_id) & (model_1.name == models[0]))
            .join(second, second.question_pk == Question.id)
            .join(model_2, (model_2.id == second.model_id) & (model_2.name == models[1]))
        )
    if answer_sets:
        statement = statement.join(AnswerSet, AnswerSet.id == Question.answer_set_id).where(
            AnswerSet.name.in_(answer_sets)
        )
    return statement


def start_battle(
    session: Session,
    *,
    voter: Voter,
    limits: LimitSettings,
    answer_sets: Sequence[str] = (),
    models: tuple[str, str] | None = None,
    rng: random.Random = _rng,
) -> BattlePublic:
    """Draw a question and two models that both answered it, and store the battle.

    Without *models* the battle is anonymous and the pair is drawn at random, in
    random left/right order. With *models* it is a named side-by-side battle.
    Counts against the voter's and the IP's battle *limits* (TooManyRequests,
    nothing stored, when one is full).
    """
    if models is not None:
        if models[0] == models[1]:
            raise InvalidInput("pick two different models")
        known = set(session.exec(select(ArenaModel.name).where(ArenaModel.name.in_(models))))
        for name in models:
            if name not in known:
                raise NotFound(f"unknown model {name!r}")
    question_ids = session.exec(_eligible_questions(answer_sets, models)).all()  # type: ignore[call-overload]
    if not question_ids:
        if models is not None:
            raise NotFound(f"no question answered by both {models[0]} and {models[1]}")
        raise NotFound("no question has answers from two models: import an answer set first")
    question = session.get(Question, rng.choice(question_ids))
    assert question is not None
    rows = session.exec(
        select(ArenaModel.name, Answer.turns)
        .join(ArenaModel, ArenaModel.id == Answer.model_id)
        .where(Answer.question_pk == question.id)
    ).all()
    answers = dict(rows)
    pair = list(models) if models is not None else rng.sample(sorted(answers), 2)
    answer_set = session.get(AnswerSet, question.answer_set_id)
    battle = Battle(
        id=secrets.token_hex(16),
        anony=models is None,
        model_a=pair[0],
        model_b=pair[1],
        answer_set=answer_set.name if answer_set else None,
        question_id=question.question_id,
        question_pk=question.id,
        category=question.category,
        language=question.language,
        conversation_a=conversation(question.turns, answers[pair[0]]),
        conversation_b=conversation(question.turns, answers[pair[1]]),
        voter_id=voter.id,
        ip_hash=voter.ip_hash,
        ui_language=voter.ui_language,
    )
    battle.style = battle_style(battle.conversation_a, battle.conversation_b)
    battle.ready_at = battle.created_at  # pre-generated answers are shown at once
    enforce(session, LimitPolicy.from_settings(limits), "battle", voter_id=voter.id,
            ip_hash=voter.ip_hash)
    session.add(battle)
    session.commit()
    return public_view(battle)


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


def models_with_answers(session: Session, answer_sets: Sequence[str] = ()) -> list[str]:
    statement = select(ArenaModel.name).join(Answer, Answer.model_id == ArenaModel.id)
    if answer_sets:
        statement = (
            statement.join(Question, Question.id == Answer.question_pk)
            .join(AnswerSet, AnswerSet.id == Question.answer_set_id)
            .where(AnswerSet.name.in_(answer_sets))
        )
    return sorted(set(session.exec(statement.distinct())))
