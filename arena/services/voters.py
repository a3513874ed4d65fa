"""Who is voting: a random per-browser id plus a salted hash of the IP."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

VOTER_COOKIE = "arena_voter"
VOTER_HEADER = "X-Voter-Id"
_VOTER_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class Voter:
    id: str
    ip_hash: str | None = None
    ui_language: str | None = None


def new_voter_id() -> str:
    return secrets.token_urlsafe(18)


def valid_voter_id(value: str | None) -> bool:
    return bool(value) and bool(_VOTER_ID.match(value or ""))


def hash_ip(salt: str, ip: str | None) -> str | None:
    """Keyed hash so equal IPs can be grouped without ever storing the IP."""
    if not ip:
        return None
    return hmac.new(salt.encode(), ip.encode(), hashlib.sha256).hexdigest()[:32]


def ui_language(accept_language: str | None) -> str | None:
    """The browser's preferred language tag, e.g. 'zh-CN' or 'en'."""
    if not accept_language:
        return None
    first = accept_language.split(",")[0].split(";")[0].strip()
    return first[:16] or None
