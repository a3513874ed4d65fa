"""Owner-issued API keys for scripts (`arena keys create|list|revoke`).

A key is shown once, when made; the database keeps its SHA-256 only. A client
presenting a valid key (`Authorization: Bearer <key>`) may name its voters with
`X-Voter-Id` (load tests, annotation tools); nobody else may.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from arena.models import ApiKey, utcnow
from arena.services.errors import Conflict, InvalidInput, NotFound

KEY_PREFIX = "arena_"
_TOUCH_EVERY_S = 300.0
_touched: dict[int, float] = {}


@dataclass(frozen=True)
class KeyInfo:
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str) -> str:
    """Make a key named *name* and return it (the only time it is seen)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a key name has 1 to 100 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_hash=_digest(key), prefix=key[:12]))
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"a key named {name!r} exists already") from exc
    return key


def list_keys(session: Session) -> list[KeyInfo]:
    rows = session.exec(select(ApiKey).order_by(ApiKey.id))  # type: ignore[arg-type]
    return [KeyInfo(r.name, r.prefix, r.created_at, r.last_used_at, r.revoked_at) for r in rows]


def revoke_key(session: Session, name: str) -> None:
    row = session.exec(select(ApiKey).where(ApiKey.name == name)).first()
    if row is None:
        raise NotFound(f"no key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()


def valid_key(session: Session, key: str | None) -> bool:
    """Is *key* an issued, unrevoked key? Notes its use (at most every few minutes)."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 200:
        return False
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == _digest(key))).first()
    if row is None or row.revoked_at is not None:
        return False
    now = time.monotonic()
    if row.id is not None and now - _touched.get(row.id, -_TOUCH_EVERY_S) >= _TOUCH_EVERY_S:
        _touched[row.id] = now
        row.last_used_at = utcnow()
        session.add(row)
        session.commit()
    return True
