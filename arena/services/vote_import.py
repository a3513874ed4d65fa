"""Importing vote datasets: all of a file in one transaction, or nothing.

Each vote becomes a Battle (``mode="import"``, ``status="voted"``, ``source`` =
the dataset name, ``source_id`` = the record's ``battle_id``/``id`` or, lacking
one, a hash of its content) and a Vote cast at the record's ``tstamp``. A vote
whose (source, source_id) is stored already, or repeated in the file, is a
duplicate: skipped and counted. A vote of a model against itself (FastChat data
has a few) cannot be a battle here: skipped, counted and its line reported.
Unknown models are created. The judge is stored as a pseudonym (an exported
``arena_user_<32 hex>`` is kept as is; anything else, e.g. FastChat's
``arena_user_<ip>``, is keyed-hashed with this arena's salt).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from arena.formats.votes import VoteRecord
from arena.models import Battle, Vote
from arena.services.answer_sets import get_or_create_models
from arena.services.errors import Conflict, InvalidInput
from arena.services.export import PSEUDONYM, judge_pseudonym

IMPORT_BATCH = 1_000


@dataclass
class VoteImportSummary:
    source: str
    imported: int = 0
    duplicates: int = 0
    self_play_lines: list[int] = field(default_factory=list)
    models: set[str] = field(default_factory=set)


def import_votes(
    session: Session, votes: Iterable[tuple[int, VoteRecord]], *, source: str, salt: str,
    batch_size: int = IMPORT_BATCH,
) -> VoteImportSummary:
    """Store *votes* (``(line, record)`` pairs, e.g. from ``iter_votes``) from *source*.

    Errors raised while iterating *votes* (a malformed line) roll everything back
    and propagate unchanged. Raises Conflict when another import of the same
    source stored some of these votes meanwhile.
    """
    if not source or len(source) > 200:
        raise InvalidInput("source name must be 1-200 characters")
    summary = VoteImportSummary(source=source)
    try:
        seen = set(session.execute(
            select(Battle.source_id).where(Battle.source == source)).scalars())
        occurrences: dict[str, int] = {}
        battles: list[dict[str, object]] = []
        cast: list[dict[str, object]] = []
        for line, record in votes:
            if record.model_a == record.model_b:
                summary.self_play_lines.append(line)
                continue
            source_id = record.record_id or _hashed_id(record, occurrences)
            if source_id in seen:
                summary.duplicates += 1
                continue
            seen.add(source_id)
            battle, vote = _rows(record, source=source, source_id=source_id, salt=salt)
            battles.append(battle)
            cast.append(vote)
            summary.models.update((record.model_a, record.model_b))
            if len(battles) >= batch_size:
                _flush(session, battles, cast, summary)
        _flush(session, battles, cast, summary)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"votes from {source!r} were not stored (imported concurrently?): "
                       f"{exc.orig}") from exc
    except BaseException:
        session.rollback()
        raise
    return summary


def _hashed_id(record: VoteRecord, occurrences: dict[str, int]) -> str:
    """Content hash; identical records in one file get #2, #3... so none is lost."""
    digest = record.content_hash()
    occurrences[digest] = occurrences.get(digest, 0) + 1
    count = occurrences[digest]
    return digest if count == 1 else f"{digest}#{count}"


def _rows(record: VoteRecord, *, source: str, source_id: str,
          salt: str) -> tuple[dict[str, object], dict[str, object]]:
    battle_id = secrets.token_hex(16)
    cast_at = (datetime.fromtimestamp(record.tstamp, UTC) if record.tstamp is not None
               else datetime.now(UTC))
    judge = record.judge if PSEUDONYM.match(record.judge) else judge_pseudonym(salt,
                                                                                record.judge)
    battle = {
        "id": battle_id, "anony": record.anony, "mode": "import",
        "model_a": record.model_a, "model_b": record.model_b,
        "answer_set": record.answer_set, "question_id": record.question_id,
        "question_pk": None, "category": record.category, "language": record.language,
        "conversation_a": record.conversation_a, "conversation_b": record.conversation_b,
        "status": "voted", "voter_id": judge, "ip_hash": None, "ui_language": None,
        "created_at": cast_at, "failure_reason": None,
        "identity_leak": record.identity_leak, "flagged": record.flagged,
        "stats": record.stats, "source": source, "source_id": source_id,
    }
    vote = {"battle_id": battle_id, "winner": record.winner, "ip_hash": None,
            "ui_language": None, "created_at": cast_at, "too_fast": record.too_fast,
            "suspicious": record.suspicious, "seen_named": record.seen_named}
    return battle, vote


def _flush(session: Session, battles: list[dict[str, object]], cast: list[dict[str, object]],
           summary: VoteImportSummary) -> None:
    if not battles:
        return
    models = {name for b in battles for name in (b["model_a"], b["model_b"])}
    get_or_create_models(session, sorted(models))  # type: ignore[arg-type]
    session.execute(insert(Battle.__table__), battles)  # type: ignore[attr-defined]
    session.execute(insert(Vote.__table__), cast)  # type: ignore[attr-defined]
    summary.imported += len(battles)
    battles.clear()
    cast.clear()
