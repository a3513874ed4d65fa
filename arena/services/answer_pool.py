"""Which answers a battle may draw, by kind of battle and ``battle.named_mode``.

An answer set's answers are fixed, so a voter who has seen an answer under its
model's name recognises it in any later anonymous battle. The *anonymous pool* is
every answer of the sets in ``battle.answer_sets`` (empty: of every set). Named
battles (the side-by-side tab, ``POST /api/battles {"models": [...]}``) draw:

    named_mode  answers a named battle may show
    off         none: refused (Forbidden), and the UI has no named tab
    separate    answers of sets outside the anonymous pool none of whose turns has
                the exact text of a turn of an answer in the pool; with an empty
                ``battle.answer_sets`` the pool is every set, so nothing (NotFound
                saying what to configure)
    on          the anonymous pool itself; what a voter saw named is recorded
                (arena.services.exposure) and their later anonymous votes on it are
                stored ``seen_named``

The conditions are SQL over ``answer JOIN question JOIN answer_set``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, exists, not_, select, true
from sqlalchemy.orm import aliased

from arena.models import Answer, AnswerSet, AnswerText, Question
from arena.services.errors import Forbidden, NotFound

NAMED_OFF = ("named battles are turned off in this arena (battle.named_mode = \"off\"): "
             "answers are compared anonymously only")
NAMED_SEPARATE_EMPTY = (
    "named battles here draw only answer sets that anonymous battles do not "
    "(battle.named_mode = \"separate\"), and anonymous battles draw every set: the owner "
    "lists the anonymous sets in battle.answer_sets and imports another set to compare "
    "by name")


def answer_condition(answer_sets: Sequence[str], named_mode: str | None = None) -> Any:
    """The answers a battle may draw; *named_mode* None for an anonymous battle.

    Raises Forbidden (named_mode "off") or NotFound ("separate" with no set outside
    the anonymous pool).
    """
    in_pool = AnswerSet.name.in_(answer_sets) if answer_sets else true()
    if named_mode is None or named_mode == "on":
        return in_pool
    if named_mode == "off":
        raise Forbidden(NAMED_OFF)
    if named_mode != "separate":
        raise ValueError(f"unknown named_mode {named_mode!r}")
    if not answer_sets:
        raise NotFound(NAMED_SEPARATE_EMPTY)
    pool_text, pool_answer = aliased(AnswerText), aliased(Answer)
    pool_question, pool_set = aliased(Question), aliased(AnswerSet)
    pool_texts = (
        select(pool_text.text_hash)
        .join(pool_answer, pool_answer.id == pool_text.answer_id)
        .join(pool_question, pool_question.id == pool_answer.question_pk)
        .join(pool_set, pool_set.id == pool_question.answer_set_id)
        .where(pool_set.name.in_(answer_sets))
    )
    shared_text = exists().where(AnswerText.answer_id == Answer.id,
                                 AnswerText.text_hash.in_(pool_texts))
    return and_(not_(AnswerSet.name.in_(answer_sets)), not_(shared_text))
