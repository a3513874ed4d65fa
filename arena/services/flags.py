"""The owner's flags on voters and battles (`arena voters flag|unflag`, `arena battles
flag|unflag`, the /admin page): the owner's word overrides the audit's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from arena.models import Battle, VoterFlag, utcnow
from arena.services.counting import note_flags_changed
from arena.services.errors import NotFound


@dataclass(frozen=True)
class FlaggedVoter:
    voter_id: str
    flagged: bool
    source: str
    reason: str
    review: str | None
    updated_at: datetime
    battles: int


def flag_voter(session: Session, voter_id: str, reason: str = "") -> None:
    """Flag a voter (or confirm the audit's flag): their votes leave the board."""
    row = session.get(VoterFlag, voter_id)
    now = utcnow()
    if row is None:
        if not session.exec(select(Battle.id).where(Battle.voter_id == voter_id)).first():
            raise NotFound(f"no voter {voter_id!r} has battles here")
        row = VoterFlag(voter_id=voter_id, source="owner", reason=reason or "flagged by the owner")
    elif row.source == "audit":
        row.review = "confirmed"
        row.reason = reason or row.reason
    else:
        row.reason = reason or row.reason
    row.flagged, row.updated_at = True, now
    session.add(row)
    note_flags_changed(session, voter_id=voter_id)
    session.commit()


def unflag_voter(session: Session, voter_id: str) -> None:
    """Clear a voter's flag; the audit will not flag them again."""
    row = session.get(VoterFlag, voter_id)
    if row is None:
        raise NotFound(f"voter {voter_id!r} is not flagged")
    row.flagged, row.updated_at = False, utcnow()
    if row.source == "audit":
        row.review = "cleared"
    session.add(row)
    note_flags_changed(session, voter_id=voter_id)
    session.commit()


def flagged_voters(session: Session, *, include_cleared: bool = False) -> list[FlaggedVoter]:
    battles = dict(session.exec(
        select(Battle.voter_id, func.count()).where(
            Battle.voter_id.in_(select(VoterFlag.voter_id)))  # type: ignore[attr-defined]
        .group_by(Battle.voter_id)).all())
    statement = select(VoterFlag).order_by(VoterFlag.updated_at.desc())  # type: ignore[attr-defined]
    if not include_cleared:
        statement = statement.where(VoterFlag.flagged)
    return [FlaggedVoter(r.voter_id, r.flagged, r.source, r.reason, r.review, r.updated_at,
                         battles.get(r.voter_id, 0))
            for r in session.exec(statement)]


def set_battle_flag(session: Session, battle_id: str, flagged: bool) -> None:
    battle = session.get(Battle, battle_id)
    if battle is None:
        raise NotFound(f"no battle with id {battle_id!r}")
    battle.flagged = flagged
    session.add(battle)
    note_flags_changed(session, battle_id=battle_id)
    session.commit()
