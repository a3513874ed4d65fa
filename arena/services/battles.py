"""Drawing battles from answer sets; what a voter may see of them."""

from __future__ import annotations

import random
import secrets
from collections.abc import Collection, Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, func, select

from arena.config import LimitSettings, SamplingSettings
from arena.db import read_phase
from arena.models import (
    Answer,
    AnswerSet,
    ArenaModel,
    Battle,
    BattlePublic,
    NamedBattlePublic,
    Question,
    utcnow,
)
from arena.services.answer_pool import answer_condition
from arena.services.battle_style import battle_style
from arena.services.errors import Forbidden, InvalidInput, NotFound
from arena.services.exposure import record_exposure
from arena.services.limits import LimitPolicy, enforce
from arena.services.question_pool import QuestionChooser, VoterHistory, pool_index
from arena.services.sampling import BoardState, NoPair, Sampler
from arena.services.voters import Voter

_rng = random.SystemRandom()
UNIFORM = Sampler(SamplingSettings(policy="uniform"))


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
    sampler: Sampler | None = None,
    paused: Collection[str] = (),
    rng: random.Random = _rng,
) -> BattlePublic:
    """Draw a question and two models that both answered it, and store the battle.

    Without *models* the battle is anonymous: *sampler* (arena.services.sampling;
    default: uniform) draws the pair among the models not *paused*, in random
    left/right order, then a question both answered that the voter may see again
    (arena.services.question_pool), preferring ones with no answer the voter saw
    named. With *models* it is a named side-by-side battle on the answers
    *named_mode* allows (arena.services.answer_pool: "off" refuses with Forbidden),
    and the voter's exposure to both answers is recorded. Each side shows one of
    its model's samples, drawn at random. Counts against the voter's and the IP's
    battle *limits* (TooManyRequests, nothing stored, when one is full).
    """
    sampler = sampler or UNIFORM
    state = sampler.state()  # before the session takes a connection (Sampler.policy)
    with read_phase(session):
        draw = _draw(session, voter=voter, answer_sets=answer_sets, models=models,
                     named_mode=named_mode, sampler=sampler, state=state, paused=paused,
                     rng=rng)
    question, answer_set, pair, (sample_a, turns_a), (sample_b, turns_b), intent = draw
    conversation_a = conversation(question.turns, turns_a)
    conversation_b = conversation(question.turns, turns_b)
    now = utcnow()
    row = {**_BATTLE_DEFAULTS,
           "id": secrets.token_hex(16), "anony": models is None, "model_a": pair[0],
           "model_b": pair[1], "answer_set": answer_set, "question_id": question.question_id,
           "question_pk": question.id, "sample_a": sample_a, "sample_b": sample_b,
           "category": question.category, "language": question.language,
           "conversation_a": conversation_a, "conversation_b": conversation_b,
           "voter_id": voter.id, "ip_hash": voter.ip_hash, "ui_language": voter.ui_language,
           "intent_id": intent, "style": battle_style(conversation_a, conversation_b),
           "created_at": now, "ready_at": now}  # pre-generated answers are shown at once
    enforce(session, LimitPolicy.from_settings(limits), "battle", voter_id=voter.id,
            ip_hash=voter.ip_hash)
    sampler.persist_intent(session, intent)
    session.execute(_INSERT_BATTLE, row)
    if models is not None:
        record_exposure(session, voter_id=voter.id, question_pk=question.id,  # type: ignore[arg-type]
                        models=pair)
    session.commit()
    sampler.persisted(intent)
    return public_view(SimpleNamespace(**row))  # type: ignore[arg-type]  # the same fields


# Core, not the ORM's unit of work: one row, inserted on every battle start, made as a
# dict (a Battle object's construction cost ~0.19 ms of a battle start's ~1 ms).
_BATTLE_TABLE = Battle.__table__  # type: ignore[attr-defined]
_INSERT_BATTLE = _BATTLE_TABLE.insert()
_BATTLE_DEFAULTS: dict[str, Any] = {
    column.key: column.default.arg if column.default is not None and column.default.is_scalar
    else None for column in _BATTLE_TABLE.columns}


Sample = tuple[int, list[str]]


def _draw(session: Session, *, voter: Voter, answer_sets: Sequence[str],
          models: tuple[str, str] | None, named_mode: str, sampler: Sampler,
          state: BoardState, paused: Collection[str],
          rng: random.Random
          ) -> tuple[Question, str | None, list[str], Sample, Sample, int | None]:
    """The question, its answer set's name, the pair, each side's sample and the policy's
    recorded intent (reads only).

    Anonymous: the pair first, by the sampler's policy over the pool's models that are
    not paused, then a question both answered that the no-repeat rule allows
    (arena.services.question_pool). Named: the chosen pair, preferring questions the
    voter has not been shown.
    """
    pool = pool_index(session, answer_sets, None if models is None else named_mode)
    if models is not None:
        if models[0] == models[1]:
            raise InvalidInput("pick two different models")
        known = set(session.exec(select(ArenaModel.name).where(ArenaModel.name.in_(models))))
        for name in models:
            if name not in known:
                raise NotFound(f"unknown model {name!r}")
    chooser = QuestionChooser(pool, VoterHistory.read(session, voter.id),
                              no_repeat=models is None)
    intent = None
    if models is not None:
        pair: list[str] = list(models)
        questions = (chooser.candidates(*models)
                     if all(m in pool.models for m in models) else [])
        if not questions:
            raise NotFound(f"no question answered by both {models[0]} and {models[1]}"
                           + ("" if named_mode == "on" else " among the answers named "
                              "battles may show (battle.named_mode)"))
    else:
        paired = pool.paired_models()
        if len(paired) < 2:
            raise NotFound("no question has answers from two models: import an answer set "
                           "first")
        policy = sampler.policy([m for m in paired if m not in paused], state=state)
        try:
            pair = list(policy.draw(rng, chooser.allows))
        except NoPair as exc:
            if not chooser.history.shown:
                raise NoPair("no two models that may be drawn now answered a common "
                             "question") from exc
            raise NoPair("you have been shown every question of this arena with every pair "
                         "of models: thank you! New ones appear when the owner adds answers"
                         ) from exc
        questions = chooser.candidates(*pair)
        intent = policy.intent_id
    question_pk = rng.choice(sorted(questions))
    samples: dict[str, list[Sample]] = {}
    for question, answer_set, name, sample, turns in session.execute(  # noqa: B007
            _SAMPLES, {"question": question_pk, "pair": pair}):
        samples.setdefault(name, []).append((sample, turns))
    side_a, side_b = (rng.choice(samples[name]) for name in pair)
    return question, answer_set, pair, side_a, side_b, intent


# The question drawn and the samples of its answers by the pair's two models; built once,
# like arena.services.question_pool's statements.
_SAMPLES = (
    select(Question, AnswerSet.name, ArenaModel.name, Answer.sample, Answer.turns)
    .join(AnswerSet, AnswerSet.id == Question.answer_set_id)
    .join(Answer, Answer.question_pk == Question.id)
    .join(ArenaModel, ArenaModel.id == Answer.model_id)
    .where(Question.id == bindparam("question"),
           ArenaModel.name.in_(bindparam("pair", expanding=True)))
    .order_by(Answer.sample)
)


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
