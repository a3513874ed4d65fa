"""Recording votes: the one place that decides whether a vote counts."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from arena.models import WINNERS, Battle, Vote, VoteResult
from arena.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from arena.services.voters import Voter


def record_vote(session: Session, *, battle_id: str, winner: str, voter: Voter) -> VoteResult:
    """Store *voter*'s verdict on their own battle and reveal the models.

    Refused (nothing stored): unknown battle, the owner's trial battle, another
    voter's battle, a battle already voted or not votable (failed answers), a
    winner outside WINNERS.
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
    battle.status = "voted"
    session.add(
        Vote(battle_id=battle.id, winner=winner, ip_hash=voter.ip_hash,
             ui_language=voter.ui_language)
    )
    try:
        session.commit()
    except IntegrityError as exc:  # a concurrent vote on the same battle won
        session.rollback()
        raise Conflict("this battle already has a vote") from exc
    return VoteResult(battle_id=battle.id, winner=winner,  # type: ignore[arg-type]
                      model_a=battle.model_a, model_b=battle.model_b)


def vote_of(session: Session, battle_id: str) -> Vote | None:
    return session.exec(select(Vote).where(Vote.battle_id == battle_id)).first()
