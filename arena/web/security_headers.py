"""Security headers on every response, and Secure cookies over HTTPS.

Pure ASGI (like arena.web.voter_cookie): Gradio's streamed responses pass untouched,
only their first message gets headers. Every response gets

- ``X-Content-Type-Options: nosniff``: a JSON answer is never read as HTML or script;
- ``Referrer-Policy: no-referrer``: a voter who follows a link in an answer tells
  its host nothing of the arena (the UI needs no Referer: Gradio reads none);
- ``X-Frame-Options: DENY``: the page cannot be framed (older browsers; the CSP's
  ``frame-ancestors 'none'`` for the others).

HTML pages (the voters' page at /, /admin, the API docs) also get a
Content-Security-Policy that keeps answers from loading anything from elsewhere:
images, media, frames, fonts, scripts and connections from this origin only
(``data:``/``blob:`` images allowed). Gradio's page carries inline scripts whose text
depends on the request (its root URL comes from the Host header), so the page is read
whole and each inline script allowed by its SHA-256 hash: injected markup can run no
script, not even an ``onerror=`` attribute. Styles need ``'unsafe-inline'``: Gradio
inserts ``<style>`` elements for its theme and ``style=`` attributes at run time; a
style can load nothing remote (img-src, font-src) so it cannot leak a voter.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from typing import Any, Literal

from arena.services.voters import served_over_https

Headers = list[tuple[bytes, bytes]]

ALWAYS: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "media-src": "'self'",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "frame-src": "'none'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# FastAPI's /api/docs page loads Swagger UI from its CDN (for script authors, not voters).
EXTRA_SOURCES = {
    "/api/docs": {"script-src": "https://cdn.jsdelivr.net",
                  "style-src": "https://cdn.jsdelivr.net",
                  "img-src": "https://fastapi.tiangolo.com"},
}
# An SVG opened on its own is a document too: it may run nothing.
SVG_POLICY = b"default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
_SCRIPT_TAG = re.compile(rb"<script\b([^>]*)>", re.IGNORECASE)
_SRC = re.compile(rb"\bsrc\s*=", re.IGNORECASE)
_SCRIPT_END = re.compile(rb"</script\s*>", re.IGNORECASE)


def inline_scripts(html: bytes) -> list[bytes]:
    """The text of each inline script (a <script> without src) of an HTML page.

    Found with bytes.find, not one regular expression over the page: Gradio's page is
    ~130 KB, most of it one inline script (its config), and a lazy match across it
    cost ~1 ms per page."""
    lower = html.lower()
    scripts: list[bytes] = []
    pos = 0
    while (start := lower.find(b"<script", pos)) >= 0:
        tag = _SCRIPT_TAG.match(html, start)
        if tag is None:
            pos = start + len(b"<script")
            continue
        end = close = tag.end()
        while (close := lower.find(b"</script", close)) >= 0:
            found = _SCRIPT_END.match(html, close)
            if found is not None:
                end = found.end()
                break
            close += len(b"</script")
        if close < 0:
            break
        if not _SRC.search(tag.group(1)):
            scripts.append(html[tag.end():close])
        pos = end
    return scripts


def page_policy(html: bytes, path: str = "/") -> str:
    """The CSP of one HTML page: PAGE_POLICY with each inline script's hash allowed."""
    policy = dict(PAGE_POLICY)
    hashes = sorted({
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in inline_scripts(html) if script.strip()})
    if hashes:
        policy["script-src"] += " " + " ".join(hashes)
    for directive, source in EXTRA_SOURCES.get(path, {}).items():
        policy[directive] += " " + source
    return "; ".join(f"{name} {value}" for name, value in policy.items())


def with_secure(cookie: bytes) -> bytes:
    """A Set-Cookie value with the Secure attribute (unchanged when it has one)."""
    attributes = (part.strip().lower() for part in cookie.split(b";")[1:])
    return cookie if b"secure" in attributes else cookie + b"; Secure"


class SecurityHeadersMiddleware:
    def __init__(self, app: Any, *, https: bool | Literal["auto"],
                 trusted_proxies: Sequence[str]) -> None:
        self.app = app
        self.https = https
        self.trusted_proxies = tuple(trusted_proxies)

    def _secure(self, scope: dict[str, Any]) -> bool:
        if self.https != "auto":
            return self.https
        client = scope.get("client")
        proto = {name.decode("latin-1"): value.decode("latin-1")
                 for name, value in scope.get("headers", []) if name == b"x-forwarded-proto"}
        return served_over_https(scope.get("scheme", "http"), client[0] if client else None,
                                 proto, self.trusted_proxies)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] | None = None  # an HTML page's start, until its body is read
        body: list[bytes] = []

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = self._headers(scope, list(message.get("headers", [])))
                message = {**message, "headers": headers}
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if _has(headers, b"content-security-policy"):
                    pass  # the inner app chose its own
                elif content_type.startswith(b"text/html"):
                    held = message
                    return
                elif content_type.startswith(b"image/svg+xml"):
                    headers.append((b"content-security-policy", SVG_POLICY))
            elif message["type"] == "http.response.body" and held is not None:
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                page = b"".join(body)
                policy = page_policy(page, scope.get("path", "/")).encode()
                held["headers"].append((b"content-security-policy", policy))
                await send(held)
                held = None
                message = {**message, "body": page}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers(self, scope: dict[str, Any], headers: Headers) -> Headers:
        headers.extend(pair for pair in ALWAYS if not _has(headers, pair[0]))
        if any(name == b"set-cookie" for name, _ in headers) and self._secure(scope):
            headers = [(name, with_secure(value) if name == b"set-cookie" else value)
                       for name, value in headers]
        return headers


def _has(headers: Headers, name: bytes) -> bool:
    return any(key.lower() == name for key, _ in headers)
