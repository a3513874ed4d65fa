"""No request that stalls everyone, and the headers a public arena sends: against a real
uvicorn serving the app as `arena serve` does (tests/utils/server.py passes the same
uvicorn options), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from arena.config import ConfigError, load_settings
from arena.context import Arena
from arena.models import Battle
from arena.services.voters import VOTER_COOKIE
from arena.web.security_headers import inline_scripts, page_policy
from tests.utils.factories import import_small_set
from tests.utils.server import LiveServer, start_server

ADMIN_TOKEN = "hardening-admin-token-0123"
FIVE_MB = json.dumps([{"question": "q", "n": 1}] * 200_000).encode()  # an array of small objects
DISTINCTIVE = "Xylophone-Quasar-7731"
SETS = itertools.count()


@contextmanager
def arena_server(database_url: str, tmp_path: Path, **settings: object) -> Iterator[LiveServer]:
    arena = Arena.open(load_settings(database_url=database_url, battle={"load_demo": False},
                                     admin={"token": ADMIN_TOKEN}, **settings), migrate=True)
    import_small_set(arena, tmp_path, name=f"small-{next(SETS)}")  # a test may serve twice
    try:
        with start_server(arena) as server:
            yield server
    finally:
        arena.close()


@pytest.fixture
def hardened(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    with arena_server(database_url, tmp_path) as server:
        yield server


def battle_count(arena: Arena) -> int:
    with arena.session() as session:
        return session.exec(select(func.count()).select_from(Battle)).one()


def assert_refused_for_size(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:300]
    assert response.json() == {"detail": "request body over the limit of 256 KiB"}
    assert response.headers["x-content-type-options"] == "nosniff"


# Body limit --------------------------------------------------------------------

def test_a_5_mb_body_is_refused_and_nothing_is_stored(hardened: LiveServer) -> None:
    assert len(FIVE_MB) > 5_000_000
    with httpx.Client(base_url=hardened.url, timeout=30) as client:
        refused = client.post("/api/battles", content=FIVE_MB,
                              headers={"content-type": "application/json"})
        assert_refused_for_size(refused)
        assert battle_count(hardened.arena) == 0
        # The same connection and a new one both serve the next request.
        assert client.post("/api/battles", json={}).status_code == 201
    assert httpx.post(f"{hardened.url}/api/battles", json={}).status_code == 201
    assert battle_count(hardened.arena) == 2


def test_a_chunked_body_is_counted_and_refused_past_the_limit(hardened: LiveServer) -> None:
    def chunks(total: int) -> Iterator[bytes]:
        piece = b" " * 65536
        for _ in range(total // len(piece)):
            yield piece

    with httpx.Client(base_url=hardened.url, timeout=30) as client:
        refused = client.post("/api/battles", content=chunks(2 * 1024 * 1024),
                              headers={"content-type": "application/json"})
        assert "content-length" not in refused.request.headers  # sent chunked
        assert_refused_for_size(refused)

        def small_body() -> Iterator[bytes]:
            yield b'{"models": null'
            yield b"}"

        accepted = client.post("/api/battles", content=small_body(),
                               headers={"content-type": "application/json"})
        assert accepted.status_code == 201, accepted.text  # the body reached the app whole
    assert battle_count(hardened.arena) == 1


def test_gradio_and_admin_routes_have_the_limit_too(hardened: LiveServer) -> None:
    with httpx.Client(base_url=hardened.url, timeout=30) as client:
        for path in ("/gradio_api/queue/join", "/gradio_api/upload", "/admin/login",
                     "/admin/gradio_api/queue/join"):
            assert_refused_for_size(client.post(path, content=FIVE_MB))
        joined = client.post("/gradio_api/queue/join", json={"data": [], "fn_index": 999,
                                                             "session_hash": "abc"})
        assert joined.status_code != 413


def test_a_body_just_under_the_limit_is_parsed_and_refused_briefly(hardened: LiveServer) -> None:
    """Under the limit the app parses it: 4,000 invalid fields get a count, not a list."""
    body = {f"field_{DISTINCTIVE}_{i}": DISTINCTIVE for i in range(4000)}
    encoded = json.dumps(body).encode()
    assert 200_000 < len(encoded) < 256 * 1024
    answer = httpx.post(f"{hardened.url}/api/battles", content=encoded,
                        headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["detail"] == [{
        "loc": ["body"], "type": "too_many_errors",
        "msg": "4000 errors in the body (more than 10 are not listed)"}]
    # A large valid body is served: a long prompt (no live models here: refused as such).
    prompt = httpx.post(f"{hardened.url}/api/battles", json={"prompt": "p" * 20_000,
                                                              "models": ["a", "b"]})
    assert prompt.status_code == 422 and "omit 'models'" in prompt.json()["detail"]


def test_a_few_errors_are_listed_then_counted(hardened: LiveServer) -> None:
    answer = httpx.post(f"{hardened.url}/api/battles", json={f"f{i}": 1 for i in range(15)})
    detail = answer.json()["detail"]
    assert answer.status_code == 422 and len(detail) == 11
    assert detail[0] == {"loc": ["body", "f0"], "msg": "Extra inputs are not permitted",
                         "type": "extra_forbidden"}
    assert detail[-1] == {"loc": [], "msg": "and 5 more errors", "type": "too_many_errors"}


# Validation errors ------------------------------------------------------------

def test_validation_errors_do_not_echo_the_input(hardened: LiveServer) -> None:
    with httpx.Client(base_url=hardened.url) as client:
        battle = client.post("/api/battles", json={}).json()
        answers = [
            client.post("/api/battles", json={"models": [DISTINCTIVE] * 3}),
            client.post("/api/battles", json={"prompt": {"text": DISTINCTIVE}, "stream": "x"}),
            client.post("/api/battles", json=[DISTINCTIVE] * 1000),
            client.post(f"/api/battles/{battle['battle_id']}/vote",
                        json={"winner": DISTINCTIVE * 100}),
            client.post("/api/battles", content=b'{"models": "' + DISTINCTIVE.encode() + b'"',
                        headers={"content-type": "application/json"}),  # not JSON
            client.post("/gradio_api/queue/join", json={"data": DISTINCTIVE, "fn_index": "x"}),
        ]
    for answer in answers:
        assert answer.status_code == 422, answer.text[:300]
        assert DISTINCTIVE not in answer.text and DISTINCTIVE[:8] not in answer.text
        detail = answer.json()["detail"]
        assert isinstance(detail, list) and detail
        for error in detail:
            assert set(error) == {"loc", "msg", "type"}
    assert answers[3].json()["detail"][0]["loc"] == ["body", "winner"]
    assert answers[3].json()["detail"][0]["type"] == "literal_error"


def test_a_long_unknown_key_is_named_only_in_part(hardened: LiveServer) -> None:
    key = "unknown_" + DISTINCTIVE * 10
    answer = httpx.post(f"{hardened.url}/api/battles", json={key: 1})
    [error] = answer.json()["detail"]
    assert error["type"] == "extra_forbidden"
    assert error["loc"][1] == key[:31] + "…"


# Header limit -----------------------------------------------------------------

def raw_request(url: str, head: bytes) -> bytes:
    """Send *head* on a new connection and read the answer to its end."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_huge_header_is_refused_and_the_server_keeps_serving(hardened: LiveServer) -> None:
    huge = (b"GET /healthz HTTP/1.1\r\nHost: arena\r\nX-Padding: " + b"a" * 1024 * 1024
            + b"\r\n\r\n")
    answer = raw_request(hardened.url, huge)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"x-content-type-options: nosniff" in answer
    assert answer.endswith(b'{"detail":"request headers over the limit of 16 KiB"}')
    many = (b"GET /healthz HTTP/1.1\r\nHost: arena\r\n"
            + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(400)) + b"\r\n")
    assert raw_request(hardened.url, many).startswith(b"HTTP/1.1 431 ")
    assert httpx.get(f"{hardened.url}/healthz").status_code == 200
    normal = httpx.get(f"{hardened.url}/healthz", headers={"X-Padding": "a" * 12_000})
    assert normal.status_code == 200  # under the limit


def test_the_header_limit_is_a_setting(database_url: str, tmp_path: Path) -> None:
    with arena_server(database_url, tmp_path, server={"max_header_kb": 64}) as server:
        assert httpx.get(f"{server.url}/healthz",
                         headers={"X-Padding": "a" * 40_000}).status_code == 200
        head = b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Padding: " + b"a" * 70_000 + b"\r\n\r\n"
        assert raw_request(server.url, head).startswith(b"HTTP/1.1 431 ")


# Security headers ---------------------------------------------------------------

def test_every_answer_says_nosniff(hardened: LiveServer) -> None:
    with httpx.Client(base_url=hardened.url) as client:
        answers = {
            "json": client.post("/api/battles", json={}),
            "404": client.get("/api/battles/no-such-battle"),
            "422": client.post("/api/battles", json={"winner": 1}),
            "413": client.post("/api/battles", content=FIVE_MB),
            "healthz": client.get("/healthz"),
            "page": client.get("/"),
            "gradio config": client.get("/config"),
        }
    assert {name: a.status_code for name, a in answers.items()} == {
        "json": 201, "404": 404, "422": 422, "413": 413, "healthz": 200, "page": 200,
        "gradio config": 200}
    for name, answer in answers.items():
        assert answer.headers["x-content-type-options"] == "nosniff", name
        assert answer.headers["referrer-policy"] == "no-referrer", name
        assert answer.headers["x-frame-options"] == "DENY", name


def test_pages_have_a_content_security_policy(hardened: LiveServer) -> None:
    for path in ("/", "/admin/"):
        page = httpx.get(f"{hardened.url}{path}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = dict(part.strip().split(" ", 1)
                      for part in page.headers["content-security-policy"].split(";"))
        assert policy["default-src"] == "'self'"
        assert policy["img-src"] == "'self' data: blob:"
        assert policy["connect-src"] == "'self'" and policy["frame-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        script = policy["script-src"].split()
        assert script[0] == "'self'" and "'unsafe-inline'" not in script
        assert "'unsafe-eval'" not in script
        assert all(source.startswith("'sha256-") for source in script[1:]) and script[1:]
        assert "<script" in page.text  # Gradio's inline scripts, each allowed by its hash


def test_every_inline_script_and_only_those_is_allowed_by_its_hash() -> None:
    page = (b"<html><SCRIPT>one()</script ><script src='/x.js'></script>"
            b"<script type=module>\ntwo()</SCRIPT><scripts>no</scripts>"
            b"<script>three('</scrip')</script><script src=y.js>ignored()</script>"
            b"<script>  </script><script>never closed")
    assert inline_scripts(page) == [b"one()", b"\ntwo()", b"three('</scrip')", b"  "]
    allowed = dict(part.strip().split(" ", 1) for part in page_policy(page).split(";"))
    digests = {"'sha256-" + base64.b64encode(hashlib.sha256(s).digest()).decode() + "'"
               for s in (b"one()", b"\ntwo()", b"three('</scrip')")}
    assert set(allowed["script-src"].split()[1:]) == digests


# Secure cookies -------------------------------------------------------------------

def voter_cookie_header(url: str, **headers: str) -> str:
    answer = httpx.post(f"{url}/api/battles", json={}, headers=headers)
    assert answer.status_code == 201
    return next(v for v in answer.headers.get_list("set-cookie") if v.startswith(VOTER_COOKIE))


def is_secure(set_cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in set_cookie.split(";")[1:]]


def test_cookies_are_not_secure_over_plain_http_by_default(hardened: LiveServer) -> None:
    assert not is_secure(voter_cookie_header(hardened.url))
    # A client's own X-Forwarded-Proto is not believed (no trusted proxy configured).
    assert not is_secure(voter_cookie_header(hardened.url, **{"X-Forwarded-Proto": "https"}))


def test_https_true_makes_every_cookie_secure(database_url: str, tmp_path: Path) -> None:
    with arena_server(database_url, tmp_path, server={"https": True}) as server:
        assert is_secure(voter_cookie_header(server.url))
        login = httpx.post(f"{server.url}/admin/login",
                           data={"username": "admin", "password": ADMIN_TOKEN})
        cookies = login.headers.get_list("set-cookie")
        assert login.status_code == 200 and any(c.startswith("access-token") for c in cookies)
        assert all(is_secure(cookie) for cookie in cookies), cookies


def test_forwarded_https_is_believed_only_from_a_trusted_proxy(
        database_url: str, tmp_path: Path) -> None:
    https = {"X-Forwarded-Proto": "https"}
    with arena_server(database_url, tmp_path,
                      identity={"trusted_proxies": ["127.0.0.1"]}) as server:
        assert is_secure(voter_cookie_header(server.url, **https))
        assert not is_secure(voter_cookie_header(server.url))
        assert not is_secure(voter_cookie_header(server.url, **{"X-Forwarded-Proto": "http"}))
    with arena_server(database_url, tmp_path, identity={"trusted_proxies": ["10.0.0.0/8"]},
                      server={"https": "auto"}) as server:
        assert not is_secure(voter_cookie_header(server.url, **https))  # 127.0.0.1: untrusted
    with arena_server(database_url, tmp_path, identity={"trusted_proxies": ["127.0.0.1"]},
                      server={"https": False}) as server:
        assert not is_secure(voter_cookie_header(server.url, **https))


# Settings ------------------------------------------------------------------------

def test_settings_are_validated_with_the_key_named() -> None:
    with pytest.raises(ConfigError, match=r"server.max_body_kb = 64 is too small for "
                                          r"live.max_input_chars = 8000"):
        load_settings(server={"max_body_kb": 64})
    assert load_settings(server={"max_body_kb": 64},
                         live={"max_input_chars": 2000}).server.max_body_kb == 64
    with pytest.raises(ConfigError, match=r"server.https: .*\"auto\", true or false"):
        load_settings(server={"https": "sometimes"})
    with pytest.raises(ConfigError, match=r"server.max_header_kb"):
        load_settings(server={"max_header_kb": 1})
    assert load_settings(server={"https": "TRUE"}).server.https is True
