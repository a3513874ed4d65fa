"""What each voter has seen under a model's name, for the `seen_named` rule.

A voter is *exposed* to (question, model) when shown that model's answer to that
answer-set question with the model named: a named battle (when drawn), or the reveal
after their own vote. An anonymous vote on a battle whose question and either model
the voter was exposed to before the vote is stored ``seen_named`` and left out of
the board by default (arena.services.counting). Anonymous draws prefer questions the
voter has not been exposed to, so fewer of their votes are lost that way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, text
from sqlmodel import Session

from arena.models import NamedExposure, Question, utcnow


def record_exposure(session: Session, *, voter_id: str, question_pk: int,
                    models: Iterable[str]) -> None:
    """Note (in the caller's transaction) that *voter_id* saw *models* named on a question."""
    names = list(models)
    if not names:
        return
    session.execute(
        text(exposure_insert(len(names))),
        {"voter": voter_id, "question": question_pk, "now": utcnow(),
         **{f"model{i}": name for i, name in enumerate(names)}})


def exposure_insert(models: int, *, voter: str = "voter", question: str = "question",
                    now: str = "now") -> str:
    """The SQL that records *models* exposures, with bind parameters named *voter*,
    *question*, *now* and ``model0``, ``model1``... (one statement: a vote's reveal
    joins it to the vote's insert, arena.services.votes)."""
    rows = ", ".join(f"(:{voter}, :{question}, :model{i}, :{now})" for i in range(models))
    return ("INSERT INTO named_exposure (voter_id, question_pk, model, created_at) "
            f"VALUES {rows} ON CONFLICT DO NOTHING")


def unexposed(voter_id: str, question_pk: Any = Question.id) -> Any:
    """A condition over *question_pk* (a column): *voter_id* has seen no answer to it named."""
    return ~exists().where(NamedExposure.voter_id == voter_id,
                           NamedExposure.question_pk == question_pk)
