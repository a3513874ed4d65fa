"""The anomalous-voter audit: `arena voters audit`, and on a schedule in `arena serve`.

Reads every human vote (imported datasets and the owner's trials left out),
runs ratings.anomaly.audit on voters and on IP hashes (many voter ids behind one
address are one group there) with the vote times, and stores what it found:
flagged voters in `voter_flag` (source "audit", with the reason) and the
`suspicious` mark on each vote. The owner's word wins: a voter the owner
flagged or cleared keeps that state whatever the audit finds.

Only one process audits at a time: each claims the next run in `app_meta`
with one conditional UPDATE, which every database serialises.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Float, cast, extract, select, text, update
from sqlmodel import Session

from arena.context import Arena
from arena.models import Battle, Vote, VoterFlag, utcnow
from arena.services.counting import note_flags_changed
from ratings.anomaly import audit
from ratings.data import DEFAULT_OUTCOME_MAP

log = logging.getLogger("arena.audit")
_CLAIM_KEY = "audit_next_run"


@dataclass(frozen=True)
class AuditReport:
    votes: int
    voters: int
    flagged: list[tuple[str, str]] = field(default_factory=list)  # (voter id, reason)
    suspicious_votes: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"audited {self.votes} votes of {self.voters} voters in {self.seconds:.1f} s: "
                f"{len(self.flagged)} voters flagged, {self.suspicious_votes} votes left out")


def _codes(values: list[object]) -> tuple[np.ndarray, list[object]]:
    index: dict[object, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64,
                        count=len(values))
    return codes, list(index)


def run_audit(arena: Arena) -> AuditReport:
    """Audit every human vote now and store the flags (one transaction)."""
    started = time.perf_counter()
    query = (select(Vote.id, Battle.voter_id, Battle.ip_hash, Battle.model_a, Battle.model_b,
                    Vote.winner, cast(extract("epoch", Vote.created_at), Float))
             .join(Battle, Battle.id == Vote.battle_id)
             .where(Battle.mode.not_in(("import", "trial"))).order_by(Vote.id))
    with arena.read_session() as session:
        rows = session.execute(query).all()
    if not rows:
        return AuditReport(0, 0, seconds=time.perf_counter() - started)
    ids, voters, ips, model_a, model_b, winners, times = map(list, zip(*rows, strict=True))
    voter, voter_names = _codes(voters)
    # A vote without an address is its voter's own group.
    network, _ = _codes([ip if ip is not None else f"voter:{v}" for ip, v in
                         zip(ips, voters, strict=True)])
    models, model_names = _codes([*model_a, *model_b])
    n = len(rows)
    a, b = models[:n], models[n:]
    outcome = np.array([int(DEFAULT_OUTCOME_MAP[w]) for w in winners], dtype=np.int64)  # type: ignore[arg-type]
    result = audit(voter, a, b, outcome, network=network,
                   time=np.array([t or 0.0 for t in times], dtype=np.float64),
                   n_models=len(model_names), model_names=tuple(map(str, model_names)))
    flagged: dict[str, str] = {}
    for k in np.flatnonzero(result.voters.flagged):
        flagged[str(voter_names[k])] = result.voters.reasons[k]
    if result.networks is not None:
        for k in np.flatnonzero(result.networks.flagged):
            behind = {str(voters[i]) for i in np.flatnonzero(network == k)}
            for name in behind:
                flagged.setdefault(name, f"address shared by {len(behind)} voter ids: "
                                         f"{result.networks.reasons[k]}")
    suspicious = [vote_id for vote_id, mark in zip(ids, result.suspicious, strict=True) if mark]
    with arena.session() as session:
        _store(session, flagged, suspicious)
        note_flags_changed(session)
        session.commit()
    report = AuditReport(votes=n, voters=len(voter_names), flagged=sorted(flagged.items()),
                         suspicious_votes=len(suspicious),
                         seconds=time.perf_counter() - started)
    log.info("%s", report.summary())
    return report


def _store(session: Session, flagged: dict[str, str], suspicious: list[int]) -> None:
    existing = {row.voter_id: row for row in session.exec(select(VoterFlag)).scalars()}
    now = utcnow()
    for voter_id, row in existing.items():
        owner_decided = row.source == "owner" or row.review in ("confirmed", "cleared")
        if not owner_decided and row.flagged and voter_id not in flagged:
            row.flagged, row.reason, row.updated_at = False, "no longer flagged by the audit", now
            session.add(row)
    for voter_id, reason in flagged.items():
        row = existing.get(voter_id)
        if row is None:
            session.add(VoterFlag(voter_id=voter_id, flagged=True, source="audit",
                                  reason=reason[:500], updated_at=now))
        elif row.source == "audit" and row.review is None:
            row.flagged, row.reason, row.updated_at = True, reason[:500], now
            session.add(row)
    session.execute(update(Vote).where(Vote.suspicious).values(suspicious=False))
    for start in range(0, len(suspicious), 5000):
        chunk = suspicious[start:start + 5000]
        session.execute(update(Vote).where(Vote.id.in_(chunk)).values(suspicious=True))  # type: ignore[attr-defined]


def claim_run(arena: Arena, interval: timedelta) -> bool:
    """True for the one process that gets to run the audit due now."""
    now = utcnow()
    with arena.session() as session:
        session.execute(text("INSERT INTO app_meta (key, value) VALUES (:k, :v) "
                             "ON CONFLICT (key) DO NOTHING"),
                        {"k": _CLAIM_KEY, "v": datetime(1970, 1, 1, tzinfo=UTC).isoformat()})
        claimed = session.execute(
            text("UPDATE app_meta SET value = :next WHERE key = :k AND value <= :now"),
            {"k": _CLAIM_KEY, "next": (now + interval).isoformat(), "now": now.isoformat()})
        session.commit()
        return claimed.rowcount == 1


class AuditScheduler:
    """Runs the audit every `audit.interval_minutes` in one of the serving processes."""

    def __init__(self, arena: Arena, *, check_every: float = 60.0) -> None:
        self.arena = arena
        self.check_every = check_every
        self._stop = threading.Event()

    def start(self) -> AuditScheduler:
        if self.arena.settings.audit.interval_minutes > 0:
            threading.Thread(target=self._run, name="voter-audit", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        interval = timedelta(minutes=self.arena.settings.audit.interval_minutes)
        while not self._stop.wait(self.check_every):
            try:
                if claim_run(self.arena, interval):
                    run_audit(self.arena)
            except Exception:
                log.exception("scheduled voter audit failed; the next one will try again")
