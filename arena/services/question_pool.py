"""Which questions each model answered, and which of them a voter may be shown next.

:class:`PoolIndex` is the answer pool of arena.services.answer_pool as a model x
question matrix, kept per process and re-read when the answer table changes (one
``count, max(id)`` query per battle). :class:`VoterHistory` is what one voter was
shown. Together they give the no-repeat rule of anonymous battles:

* a question the voter was shown is not shown again until they have been shown every
  question of its answer set (then the set's questions are open again), and
* the same question is never shown with the same pair of models twice.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, bindparam, func, literal, union_all
from sqlmodel import Session, select

from arena.models import Answer, AnswerSet, ArenaModel, Battle, NamedExposure, Question
from arena.services.answer_pool import answer_condition


@dataclass(frozen=True)
class PoolIndex:
    token: tuple[Any, ...]
    models: tuple[str, ...]
    questions: np.ndarray  # question primary keys, ascending
    answer_set: np.ndarray  # per question: the index of its answer set
    answered: np.ndarray  # (models, questions) bool

    def model_row(self, name: str) -> np.ndarray:
        return self.answered[self.models.index(name)]

    def paired_models(self) -> list[str]:
        """Models that share a question with at least one other model."""
        per_question = self.answered.sum(axis=0)
        useful = per_question >= 2
        return [m for m, row in zip(self.models, self.answered, strict=True)
                if (row & useful).any()]


@dataclass(frozen=True)
class VoterHistory:
    shown: frozenset[int]  # question pks of the voter's anonymous battles
    shown_pairs: frozenset[tuple[int, str, str]]  # (question pk, model, model) sorted
    exposed: frozenset[int]  # questions with an answer the voter saw named

    @classmethod
    def read(cls, session: Session, voter_id: str) -> VoterHistory:
        """One query: the voter's anonymous answer-set battles and named exposures (named
        battles count as exposures, arena.services.exposure, not as shown)."""
        rows = session.execute(_HISTORY, {"voter": voter_id}).all()
        shown = [(q, a, b) for q, a, b, is_named in rows if not is_named]
        return cls(frozenset(q for q, _, _ in shown),
                   frozenset((q, *sorted((a, b))) for q, a, b in shown),  # type: ignore[misc]
                   frozenset(q for q, _, _, is_named in rows if is_named))


# Built once (each battle start runs them): building a statement costs more than SQLite
# takes to run it.
_HISTORY = union_all(
    select(Battle.question_pk, Battle.model_a, Battle.model_b, literal(False).label("named"))
    .where(Battle.voter_id == bindparam("voter"), Battle.anony,
           Battle.question_pk.is_not(None)),  # type: ignore[union-attr]
    select(NamedExposure.question_pk, NamedExposure.model, NamedExposure.model,
           literal(True).label("named")).where(NamedExposure.voter_id == bindparam("voter")),
)
# What changes when the pool may have: answers arrive only with a new answer set, in its
# one transaction (arena.services.answer_sets.import_answer_set), and none is deleted; the
# count catches sets committed out of id order. Read on every battle start: over the
# answer sets (a handful of rows), not the answers (counting 200,000 answers took 24 ms
# on PostgreSQL and 30 ms on SQLite per battle).
_POOL_TOKEN = select(func.count(AnswerSet.id), func.max(AnswerSet.id))


class QuestionChooser:
    """The questions a pair may be shown to one voter under the no-repeat rule."""

    def __init__(self, pool: PoolIndex, history: VoterHistory, *, no_repeat: bool) -> None:
        self.pool = pool
        self.history = history
        self.no_repeat = no_repeat
        shown = np.isin(pool.questions, np.fromiter(history.shown, np.int64,
                                                    len(history.shown)))
        if no_repeat:
            # A set's questions open again once every question of it was shown.
            exhausted = np.ones(int(pool.answer_set.max(initial=-1)) + 1, bool)
            np.logical_and.at(exhausted, pool.answer_set, shown)
            self.open = ~shown | exhausted[pool.answer_set]
        else:
            self.open = np.ones(pool.questions.shape[0], bool)
        self.fresh = ~shown
        self.unexposed = ~np.isin(pool.questions, np.fromiter(history.exposed, np.int64,
                                                              len(history.exposed)))

    def candidates(self, a: str, b: str) -> list[int]:
        """Question pks both answered and the rule allows, best first-class only: those
        the voter has not been shown, else not seen named, else any allowed."""
        both = self.pool.model_row(a) & self.pool.model_row(b)
        allowed = both & self.open
        keys = self.pool.questions[allowed]
        if self.no_repeat:
            pair = tuple(sorted((a, b)))
            keys = np.array([q for q in keys.tolist()
                             if (q, *pair) not in self.history.shown_pairs], np.int64)
            allowed = np.isin(self.pool.questions, keys)
        for better in (allowed & self.fresh & self.unexposed, allowed & self.fresh,
                       allowed & self.unexposed):
            if better.any():
                return self.pool.questions[better].tolist()
        return keys.tolist()  # type: ignore[no-any-return]

    def allows(self, a: str, b: str) -> bool:
        return bool(self.candidates(a, b))


class _PoolCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pools: dict[tuple[Any, ...], PoolIndex] = {}


_caches: weakref.WeakKeyDictionary[Engine, _PoolCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def pool_index(session: Session, answer_sets: Sequence[str],
               named_mode: str | None) -> PoolIndex:
    """The pool (arena.services.answer_pool) as a matrix, cached until answers change."""
    engine = session.get_bind().engine
    with _caches_lock:
        cache = _caches.setdefault(engine, _PoolCache())
    condition = answer_condition(answer_sets, named_mode)  # may refuse (named_mode "off")
    token = tuple(session.execute(_POOL_TOKEN).one())
    key = (tuple(answer_sets), named_mode)
    with cache.lock:
        hit = cache.pools.get(key)
    if hit is not None and hit.token == token:
        return hit
    rows = session.execute(
        select(Answer.question_pk, ArenaModel.name, Question.answer_set_id).distinct()
        .join(ArenaModel, ArenaModel.id == Answer.model_id)
        .join(Question, Question.id == Answer.question_pk)
        .join(AnswerSet, AnswerSet.id == Question.answer_set_id)
        .where(condition)).all()
    models = tuple(sorted({name for _, name, _ in rows}))
    questions = np.array(sorted({q for q, _, _ in rows}), np.int64)
    sets = {q: s for q, _, s in rows}
    set_codes = {s: k for k, s in enumerate(sorted(set(sets.values())))}
    answered = np.zeros((len(models), questions.shape[0]), bool)
    if rows:
        m_index = {m: k for k, m in enumerate(models)}
        q_index = np.searchsorted(questions, np.array([q for q, _, _ in rows], np.int64))
        answered[[m_index[name] for _, name, _ in rows], q_index] = True
    pool = PoolIndex(token, models, questions,
                     np.array([set_codes[sets[int(q)]] for q in questions], np.int64), answered)
    with cache.lock:
        cache.pools[key] = pool
    return pool


__all__ = ["PoolIndex", "QuestionChooser", "VoterHistory", "pool_index"]
