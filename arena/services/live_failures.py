"""The failure log of live models: what went wrong, when, and how often lately."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from arena.models import ModelFailure, utcnow
from arena.providers.errors import ProviderError

REASON_CHARS = 300
WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class FailureSummary:
    kind: str
    at: datetime
    reason: str
    last_hour: int


def record_failure(session: Session, model: str, error: ProviderError, *,
                   battle_id: str | None = None) -> None:
    """Add one failure (not committed: it joins the caller's transaction).
    The detail was redacted by the provider that raised it."""
    reason = " ".join(error.detail.split())[:REASON_CHARS]
    session.add(ModelFailure(model=model, kind=error.kind, reason=reason, battle_id=battle_id))


def failure_summaries(session: Session, *, now: datetime | None = None
                      ) -> dict[str, FailureSummary]:
    """Each model's last failure and its failure count over the last hour."""
    now = now or utcnow()
    last_ids = select(func.max(ModelFailure.id)).group_by(ModelFailure.model)
    last = session.exec(select(ModelFailure).where(ModelFailure.id.in_(last_ids)))  # type: ignore[union-attr]
    counts = dict(session.exec(
        select(ModelFailure.model, func.count()).where(ModelFailure.created_at >= now - WINDOW)
        .group_by(ModelFailure.model)).all())
    return {row.model: FailureSummary(kind=row.kind, at=row.created_at, reason=row.reason,
                                      last_hour=counts.get(row.model, 0))
            for row in last}
