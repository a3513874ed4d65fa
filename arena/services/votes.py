"""Recording votes: the one place that decides whether a vote counts."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from arena.config import LimitSettings
from arena.models import WINNERS, Battle, Vote, VoteResult, utcnow
from arena.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from arena.services.exposure import record_exposure, seen_named
from arena.services.limits import LimitPolicy, enforce, too_fast
from arena.services.voters import Voter


def record_vote(session: Session, *, battle_id: str, winner: str, voter: Voter,
                limits: LimitSettings) -> VoteResult:
    """Store *voter*'s verdict on their own battle and reveal the models.

    Refused (nothing stored): unknown battle, the owner's trial battle, another
    voter's battle, a battle already voted or not votable (failed answers), a
    winner outside WINNERS, the voter's or the IP's vote *limits* reached
    (TooManyRequests). Stored but flagged `too_fast` (left out of ratings): a
    vote cast sooner after the answers were shown than they could be read. Stored
    but flagged `seen_named` (left out of ratings): an anonymous vote on a question
    and model the voter was shown named before (arena.services.exposure). The
    reveal itself is such a showing: it is recorded with the vote.
    """
    if winner not in WINNERS:
        raise InvalidInput(f"winner must be one of {', '.join(WINNERS)}")
    battle = session.get(Battle, battle_id)
    if battle is None:
        raise NotFound(f"no battle with id {battle_id!r}")
    if battle.mode == "trial":
        raise Conflict("the owner's trial battles are not voted")
    if battle.voter_id != voter.id:
        raise Forbidden("this battle belongs to another voter session")
    if battle.status == "voted":
        raise Conflict("this battle already has a vote")
    if battle.status != "ready":
        raise Conflict("this battle cannot be voted: an answer did not complete")
    enforce(session, LimitPolicy.from_settings(limits), "vote", voter_id=voter.id,
            ip_hash=voter.ip_hash)
    now = utcnow()
    shown = battle.ready_at or battle.created_at
    elapsed = (now - (shown if shown.tzinfo else shown.replace(tzinfo=UTC))).total_seconds()
    battle.status = "voted"
    pair = (battle.model_a, battle.model_b)
    known = (battle.anony and battle.question_pk is not None
             and seen_named(session, voter_id=voter.id, question_pk=battle.question_pk,
                            models=pair))
    session.add(
        Vote(battle_id=battle.id, winner=winner, ip_hash=voter.ip_hash,
             ui_language=voter.ui_language, created_at=now,
             too_fast=too_fast(elapsed, _last_answer_chars(battle), limits),
             seen_named=known)
    )
    if battle.question_pk is not None:
        record_exposure(session, voter_id=voter.id, question_pk=battle.question_pk,
                        models=pair)
    try:
        session.commit()
    except IntegrityError as exc:  # a concurrent vote on the same battle won
        session.rollback()
        raise Conflict("this battle already has a vote") from exc
    return VoteResult(battle_id=battle.id, winner=winner,  # type: ignore[arg-type]
                      model_a=battle.model_a, model_b=battle.model_b)


def vote_of(session: Session, battle_id: str) -> Vote | None:
    return session.exec(select(Vote).where(Vote.battle_id == battle_id)).first()


def _last_answer_chars(battle: Battle) -> int:
    """Characters of the two answers the voter was last shown."""
    return sum(len(next((m["content"] for m in reversed(conversation)
                         if m["role"] == "assistant"), ""))
               for conversation in (battle.conversation_a, battle.conversation_b))
