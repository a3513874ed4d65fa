"""The anomalous-voter audit: `arena voters audit`, and on a schedule in `arena serve`.

Reads every human vote (imported datasets and the owner's trials left out),
runs ratings.anomaly.audit on voters and on IP hashes (many voter ids behind one
address are one group there) with the vote times, and stores what it found:
flagged voters in `voter_flag` (source "audit", with the reason) and the
`suspicious` mark on each vote. The owner's word wins: a voter the owner
flagged or cleared keeps that state whatever the audit finds.

Only one process audits at a time: each claims the next run in `app_meta`
with one conditional UPDATE, which every database serialises. A serving process runs
its audits in a child process (:func:`run_audit_apart`): the audit's columns and
working arrays (~0.7 GB at ten million votes, more when one voter cast most of them)
are given back when the child exits, where in the serving process they stayed in its
heap beside the live board.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Float, cast, extract, func, select, text, update
from sqlmodel import Session

from arena.config import Settings
from arena.context import Arena
from arena.db import read_only, stream_rows
from arena.models import Battle, Vote, VoterFlag, utcnow
from arena.services.counting import note_flags_changed
from ratings.anomaly import AuditResult, audit
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


@dataclass
class _Votes:
    """The human votes as numpy columns, names coded (no Python object per vote)."""

    ids: np.ndarray
    voter: np.ndarray
    network: np.ndarray
    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray
    time: np.ndarray
    voter_names: list[str]
    model_names: list[str]


def _read_votes(arena: Arena, batch: int = 50_000) -> _Votes | None:
    """Every human vote with an id up to the highest now, into columns sized by a count
    first (no list of parts to join: at ten million votes that copy alone was 330 MB)."""
    human = Battle.mode.not_in(("import", "trial"))  # type: ignore[attr-defined]
    with arena.read_session() as session:
        n, high = session.execute(select(func.count(), func.max(Vote.id)).select_from(Vote)
                                  .join(Battle, Battle.id == Vote.battle_id).where(human)).one()
    if not n:
        return None
    query = (select(Vote.id, Battle.voter_id, Battle.ip_hash, Battle.model_a, Battle.model_b,
                    Vote.winner, cast(extract("epoch", Vote.created_at), Float))
             .join(Battle, Battle.id == Vote.battle_id)
             .where(human, Vote.id <= high).order_by(Vote.id))
    voters: dict[str, int] = {}
    networks: dict[str, int] = {}
    models: dict[str, int] = {}
    outcome_of = {w: int(code) for w, code in DEFAULT_OUTCOME_MAP.items() if code is not None}
    # vote ids are the table's INTEGER key: int32 (numpy refuses a larger id, not wraps it)
    columns = [np.empty(n, dtype) for dtype in (np.int32, np.int32, np.int32, np.int32,
                                                 np.int32, np.int8, np.float64)]
    at = 0
    for chunk in stream_rows(read_only(arena.engine), query, batch):
        ids, voter, ip, model_a, model_b, winner, when = zip(*chunk, strict=True)
        values = (
            ids,
            [voters.setdefault(v, len(voters)) for v in voter],
            # a vote without an address is its voter's own group
            [networks.setdefault(x if x is not None else f"voter:{v}", len(networks))
             for x, v in zip(ip, voter, strict=True)],
            [models.setdefault(m, len(models)) for m in model_a],
            [models.setdefault(m, len(models)) for m in model_b],
            [outcome_of[w] for w in winner],
            [t or 0.0 for t in when],
        )
        if at + len(chunk) > n:  # committed since the count below the highest id
            n = at + len(chunk) + batch
            columns = [np.resize(column, n) for column in columns]
        for column, value in zip(columns, values, strict=True):
            column[at : at + len(chunk)] = value
        at += len(chunk)
    columns = [column[:at] for column in columns]
    return _Votes(*columns, voter_names=list(voters), model_names=list(models))


def run_audit(arena: Arena) -> AuditReport:
    """Audit every human vote now and store the flags (one transaction)."""
    started = time.perf_counter()
    votes = _read_votes(arena)
    if votes is None:
        return AuditReport(0, 0, seconds=time.perf_counter() - started)
    result = audit(votes.voter, votes.a, votes.b, votes.outcome, network=votes.network,
                   time=votes.time, n_models=len(votes.model_names),
                   model_names=tuple(votes.model_names))
    flagged = _flagged(votes, result)
    suspicious = votes.ids[result.suspicious]
    n, n_voters = len(votes.ids), len(votes.voter_names)
    del votes, result  # the columns (~30 bytes a vote) are not kept while the flags are stored
    with arena.session() as session:
        _store(session, flagged, suspicious)
        note_flags_changed(session)
        session.commit()
    report = AuditReport(votes=n, voters=n_voters, flagged=sorted(flagged.items()),
                         suspicious_votes=len(suspicious),
                         seconds=time.perf_counter() - started)
    log.info("%s", report.summary())
    return report


def run_audit_apart(settings: Settings) -> AuditReport:
    """:func:`run_audit` in a child process of its own (started fresh, not forked from a
    serving process's threads), on a connection pool of one."""
    lean = settings.model_copy(update={"database_pool_size": 1, "database_max_overflow": 0})
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as child:
        return child.submit(_audit_in_child, lean).result()


def _audit_in_child(settings: Settings) -> AuditReport:
    arena = Arena.open(settings)
    try:
        return run_audit(arena)
    finally:
        arena.close()


def _flagged(votes: _Votes, result: AuditResult) -> dict[str, str]:
    """Voter id -> reason: the flagged voters, then every voter behind a flagged address."""
    names = votes.voter_names
    flagged = {names[k]: result.voters.reasons[k] for k in np.flatnonzero(result.voters.flagged)}
    if result.networks is not None:
        for k, behind in _voters_behind(votes.network, votes.voter, result.networks.flagged):
            reason = f"address shared by {len(behind)} voter ids: {result.networks.reasons[k]}"
            for v in behind:
                flagged.setdefault(names[v], reason)
    return flagged


def _voters_behind(network: np.ndarray, voter: np.ndarray,
                   flagged: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(network, its distinct voters) of each flagged network, in network order: one pass
    over the votes (not one per flagged network)."""
    sel = np.flatnonzero(flagged[network])
    if sel.shape[0] == 0:
        return []
    pairs = np.unique(network[sel].astype(np.int64) << 32 | voter[sel].astype(np.int64))
    nets, starts = np.unique(pairs >> 32, return_index=True)
    members = np.split(pairs & 0xFFFFFFFF, starts[1:])
    return [(int(k), v) for k, v in zip(nets, members, strict=True)]


def _store(session: Session, flagged: dict[str, str], suspicious: np.ndarray) -> None:
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
        chunk = suspicious[start:start + 5000].tolist()
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
                    report = run_audit_apart(self.arena.settings)
                    log.info("%s", report.summary())  # the child's own log goes nowhere
            except Exception:
                log.exception("scheduled voter audit failed; the next one will try again")
