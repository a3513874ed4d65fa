"""Credentials out of text bound for logs, the database or a page.

An endpoint's error detail can carry a key: in the configured `base_url`
(`https://user:key@host/v1`, `?api_key=...`), or echoed back in an upstream's
error body ("Incorrect API key provided: sk-..."). Known secrets (the API
keys of configured models) are replaced wherever they appear; the usual
shapes of credentials are masked even when the secret is not known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
_MIN_SECRET = 6  # shorter "secrets" would mask ordinary words

_SHAPES = [
    # URL userinfo: scheme://user:password@host or scheme://token@host
    (re.compile(r"(?<=://)[^/\s@]+@"), MASK + "@"),
    # query parameters and key/value pairs that name a credential
    (re.compile(r"(?i)((?:[?&;]|\b)(?:api[_-]?key|access[_-]?token|token|secret|password|"
                r"passwd|auth|key|sig|signature)[\"']?\s*[=:]\s*[\"']?)[^\"'&\s,;}]+"),
     r"\1" + MASK),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}"), r"\1 " + MASK),
    # provider key formats (OpenAI/DeepSeek "sk-", Anthropic "sk-ant-", HF "hf_", ...)
    (re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}"), MASK),
    (re.compile(r"\bhf_[A-Za-z0-9]{16,}"), MASK),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), MASK),
]


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """*text* with every known secret and every credential-shaped token masked."""
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len,
                         reverse=True):
        text = text.replace(secret, MASK)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


def url_secrets(url: str) -> list[str]:
    """The password (or token) in a URL's userinfo, and credential-looking query values."""
    found: list[str] = []
    userinfo = re.match(r"^[a-z][a-z0-9+.-]*://([^/@]+)@", url, re.IGNORECASE)
    if userinfo:
        found += [part for part in userinfo.group(1).split(":") if part]
    found += re.findall(r"[?&][^=&]+=([^&#]+)", url)
    return found
