"""Recording votes: the one place that decides whether a vote counts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Boolean, bindparam, column, insert, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from arena.config import LimitSettings
from arena.models import WINNERS, Battle, Vote, VoteResult, utcnow
from arena.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from arena.services.exposure import exposure_insert, record_exposure
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
    # One statement claims the battle (every rule that lets a vote in is in its WHERE; a
    # concurrent vote waits on the row and then finds it voted) and reads what the vote
    # needs; the reason for a refusal is looked up only when there is one.
    row = session.execute(_CLAIM, {"battle": battle_id, "voter": voter.id}).first()
    if row is None:
        raise _refusal(session, battle_id, voter)
    (model_a, model_b, anony, question_pk, ready_at, created_at, conversation_a,
     conversation_b, exposed) = row
    enforce(session, LimitPolicy.from_settings(limits), "vote", voter_id=voter.id,
            ip_hash=voter.ip_hash)
    now = utcnow()
    shown = _aware(ready_at or created_at)
    elapsed = (now - shown).total_seconds()
    row_values = {
        "battle_id": battle_id, "winner": winner, "ip_hash": voter.ip_hash,
        "ui_language": voter.ui_language, "created_at": now,
        "too_fast": too_fast(elapsed, _last_answer_chars(conversation_a, conversation_b),
                             limits),
        "seen_named": bool(anony and question_pk is not None and exposed)}
    try:
        if question_pk is not None and session.get_bind().dialect.name == "postgresql":
            # One statement (one round trip) stores the vote and the reveal's exposure.
            session.execute(_INSERT_VOTE_AND_EXPOSURE, {
                **row_values, "voter_id": voter.id, "question_pk": question_pk,
                "model0": model_a, "model1": model_b})
        else:
            session.execute(_INSERT_VOTE, row_values)
            if question_pk is not None:
                record_exposure(session, voter_id=voter.id, question_pk=question_pk,
                                models=(model_a, model_b))
        session.commit()
    except IntegrityError as exc:  # a concurrent vote on the same battle won
        session.rollback()
        raise Conflict("this battle already has a vote") from exc
    return VoteResult(battle_id=battle_id, winner=winner,  # type: ignore[arg-type]
                      model_a=model_a, model_b=model_b)


_BATTLE = Battle.__table__.c  # type: ignore[attr-defined]
# Written out because the RETURNING clause's subquery must name `battle.` explicitly
# (SQLite's rendering of it by SQLAlchemy leaves columns unqualified).
_CLAIM = text(
    "UPDATE battle SET status = 'voted' "
    "WHERE id = :battle AND voter_id = :voter AND status = 'ready' AND mode <> 'trial' "
    "RETURNING battle.model_a, battle.model_b, battle.anony, battle.question_pk, "
    "battle.ready_at, battle.created_at, battle.conversation_a, battle.conversation_b, "
    "EXISTS (SELECT 1 FROM named_exposure AS seen WHERE seen.voter_id = :voter "
    "AND seen.question_pk = battle.question_pk "
    "AND seen.model IN (battle.model_a, battle.model_b)) AS exposed"
).columns(_BATTLE.model_a, _BATTLE.model_b, _BATTLE.anony, _BATTLE.question_pk,
          _BATTLE.ready_at, _BATTLE.created_at, _BATTLE.conversation_a,
          _BATTLE.conversation_b, column("exposed", Boolean))

# Both built once: SQLAlchemy caches their compiled form (a statement built per vote
# with a multi-row VALUES and ON CONFLICT has no cache key: it was compiled every time).
_VOTE_TABLE = Vote.__table__  # type: ignore[attr-defined]
_INSERT_VOTE = insert(_VOTE_TABLE).values(
    {name: bindparam(name) for name in ("battle_id", "winner", "ip_hash", "ui_language",
                                        "created_at", "too_fast", "seen_named")})
_INSERT_VOTE_AND_EXPOSURE = text(
    "WITH new_vote AS (INSERT INTO vote (battle_id, winner, ip_hash, ui_language, "
    "created_at, too_fast, suspicious, seen_named) VALUES (:battle_id, :winner, :ip_hash, "
    ":ui_language, :created_at, :too_fast, false, :seen_named)) "
    + exposure_insert(2, voter="voter_id", question="question_pk", now="created_at")
).bindparams(bindparam("created_at", type_=_VOTE_TABLE.c.created_at.type))


def _refusal(session: Session, battle_id: str, voter: Voter) -> Exception:
    """Why *voter* may not vote on *battle_id* (the claim matched no row)."""
    battle = session.get(Battle, battle_id)
    session.rollback()
    if battle is None:
        return NotFound(f"no battle with id {battle_id!r}")
    if battle.mode == "trial":
        return Conflict("the owner's trial battles are not voted")
    if battle.voter_id != voter.id:
        return Forbidden("this battle belongs to another voter session")
    if battle.status == "voted":
        return Conflict("this battle already has a vote")
    return Conflict("this battle cannot be voted: an answer did not complete")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def vote_of(session: Session, battle_id: str) -> Vote | None:
    return session.exec(select(Vote).where(Vote.battle_id == battle_id)).first()


def _last_answer_chars(*conversations: list[dict[str, str]]) -> int:
    """Characters of the two answers the voter was last shown."""
    return sum(len(next((m["content"] for m in reversed(conversation)
                         if m["role"] == "assistant"), ""))
               for conversation in conversations)
