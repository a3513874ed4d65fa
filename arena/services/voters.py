"""Who is voting: a server-made id in a signed cookie (or a login, or an API-key
client's X-Voter-Id), plus a salted hash of the IP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING

from arena.services.api_keys import valid_key
from arena.services.errors import InvalidInput, Unauthorized

if TYPE_CHECKING:
    from arena.context import Arena

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


@lru_cache(maxsize=16_384)  # every request asks; the same few addresses come back
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


# Who is voting: decided here for every door (REST, Gradio UI) ------------------

COOKIE_SIGNATURE_CHARS = 22  # 132 bits of HMAC-SHA256, base64url
_LOGIN = re.compile(r"^[A-Za-z0-9_.@+-]{1,59}$")


def sign_voter_id(secret: str, voter_id: str) -> str:
    """The cookie value: the id and its HMAC under the arena's secret."""
    return f"{voter_id}.{_signature(secret, voter_id)}"


def verified_voter_id(secret: str, cookie: str | None) -> str | None:
    """The id in a cookie this arena signed; None for a missing, unsigned or forged one."""
    if not cookie or "." not in cookie:
        return None
    voter_id, _, signature = cookie.rpartition(".")
    if not valid_voter_id(voter_id):
        return None
    if not hmac.compare_digest(signature, _signature(secret, voter_id)):
        return None
    return voter_id


@lru_cache(maxsize=16_384)  # every request of a voter checks the same cookie
def _signature(secret: str, voter_id: str) -> str:
    digest = hmac.new(secret.encode(), b"voter:" + voter_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:COOKIE_SIGNATURE_CHARS]


@dataclass(frozen=True)
class RequestFacts:
    """What a door knows of a request, without its framework's types."""

    client_host: str | None
    headers: Mapping[str, str]  # names in lower case
    cookie_voter_id: str | None  # from a cookie verified by `verified_voter_id`
    fallback_voter_id: str | None = None  # server-made, when there is no cookie
    login: str | None = None  # a user name the app itself authenticated (Gradio auth)


def trusted_networks(addresses: Sequence[str]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(a, strict=False) for a in addresses)


def client_ip(facts: RequestFacts, trusted: tuple[IPv4Network | IPv6Network, ...]) -> str | None:
    """The client's address: X-Forwarded-For is believed only from a trusted proxy, read
    from the right, past every trusted proxy in the chain."""
    host = facts.client_host
    if not host or not _is_trusted(host, trusted):
        return host
    chain = [part.strip() for part in facts.headers.get("x-forwarded-for", "").split(",")]
    for address in reversed([a for a in chain if a]):
        if not _is_trusted(address, trusted):
            return address
    return host


def served_over_https(scheme: str, client_host: str | None, headers: Mapping[str, str],
                      trusted_proxies: Sequence[str]) -> bool:
    """Whether the voter's browser reached the arena over HTTPS: this connection's scheme,
    or X-Forwarded-Proto from a trusted proxy (the value it wrote: the last of a list)."""
    if scheme in ("https", "wss"):
        return True
    if not client_host or not _is_trusted(client_host, _trusted(tuple(trusted_proxies))):
        return False
    forwarded = headers.get("x-forwarded-proto", "").rpartition(",")[2]
    return forwarded.strip().lower() == "https"


@lru_cache(maxsize=4_096)  # parsing the address was most of a request's voter lookup
def _is_trusted(address: str, trusted: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


def resolve_voter(arena: Arena, facts: RequestFacts) -> Voter:
    """The one decision of who is voting, for every door.

    1. A login: the `identity.login_header` set by a trusted authenticating proxy, or
       a user the app authenticated itself: each login is one voter.
    2. `X-Voter-Id`: only with an owner-issued API key (`Authorization: Bearer ...`);
       a malformed id is InvalidInput (422), a missing or revoked key Unauthorized (401).
    3. The signed voter cookie, else the door's server-made fallback id.
    """
    settings = arena.settings.identity
    trusted = _trusted(tuple(settings.trusted_proxies))
    ip = client_ip(facts, trusted)
    voter_id: str | None = None
    login = facts.login
    if settings.login_header and facts.client_host and _is_trusted(facts.client_host, trusted):
        login = facts.headers.get(settings.login_header.lower()) or login
    if login:
        voter_id = _login_voter_id(login)
    elif VOTER_HEADER.lower() in facts.headers:
        header = facts.headers[VOTER_HEADER.lower()]
        if not valid_voter_id(header):
            raise InvalidInput(f"{VOTER_HEADER} must be 8-64 characters of A-Z a-z 0-9 _ -")
        authorization = facts.headers.get("authorization", "")
        key = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
        with arena.read_session() as session:
            allowed = valid_key(session, key)
        if not allowed:
            raise Unauthorized(f"{VOTER_HEADER} needs an API key from the arena's owner "
                               "(Authorization: Bearer <key>; `arena keys create NAME`)")
        voter_id = header
    voter_id = voter_id or facts.cookie_voter_id or facts.fallback_voter_id
    if voter_id is None:
        raise Unauthorized("no voter: this client keeps no cookie")
    return Voter(id=voter_id, ip_hash=hash_ip(arena.salt, ip),
                 ui_language=ui_language(facts.headers.get("accept-language")))


def _login_voter_id(login: str) -> str:
    if _LOGIN.match(login):
        return f"user-{login}"
    return "user-" + hashlib.sha256(login.encode()).hexdigest()[:40]


@lru_cache(maxsize=8)
def _trusted(addresses: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return trusted_networks(addresses)
