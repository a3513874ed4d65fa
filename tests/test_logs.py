"""What reaches the owner's log: one line per event, JSON on request, no credentials."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from arena.logs import configure_logging
from arena.redact import redact, url_secrets

KEY = "sk-live-abcdef0123456789"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize(("text", "secret"), [
    ("cannot connect to https://user:hunter2pass@api.example/v1: refused", "hunter2pass"),
    ("cannot connect to https://tok3nvalue@api.example/v1", "tok3nvalue"),
    ("HTTP 401 from api.example: Incorrect API key provided: sk-proj-AbC123dEf456", "AbC123dEf456"),
    ("GET https://h/v1/chat?api_key=qwerty12345&x=1 failed", "qwerty12345"),
    ('{"error": {"api_key": "zzz-secret-999"}}', "zzz-secret-999"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", "eyJhbGciOiJIUzI1NiJ9"),
    ("HTTP 403: key hf_AbCdEfGhIjKlMnOpQrSt is revoked", "hf_AbCdEfGhIjKlMnOpQrSt"),
])
def test_credential_shapes_are_masked(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked and "***" in masked


def test_known_secrets_are_masked_wherever_they_appear() -> None:
    assert redact("upstream said: my-plain-token-value!", ["my-plain-token-value"]) == (
        "upstream said: ***!")
    assert url_secrets("https://alice:pa55word@h/v1?key=k3y&model=x") == [
        "alice", "pa55word", "k3y", "x"]
    assert redact("HTTP 500 from api.example: model overloaded") == (
        "HTTP 500 from api.example: model overloaded")


def test_lines_are_single_and_masked(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(level="info", secrets=lambda: [KEY], stream=stream)
    log = logging.getLogger("arena.live")
    log.debug("not shown at info")
    log.warning("battle b1: model x failed:\nkey %s echoed", KEY)
    try:
        raise RuntimeError(f"boom with {KEY}")
    except RuntimeError:
        log.exception("reload failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "WARNING arena.live: battle b1: model x failed:\\nkey *** echoed" in lines[0]
    assert lines[0][:24].endswith("Z") and lines[0][10] == "T"  # 2026-11-30T12:00:00.123Z
    assert "RuntimeError: boom with ***" in lines[1] and KEY not in stream.getvalue()


def test_json_lines(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(level="warning", json_lines=True, secrets=lambda: [KEY], stream=stream)
    logging.getLogger("arena.live").info("hidden at warning")
    logging.getLogger("arena.live").error("paused %s after %d failures (key %s)", "m", 3, KEY)
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "error" and entry["logger"] == "arena.live"
    assert entry["message"] == "paused m after 3 failures (key ***)"
    assert entry["time"].endswith("Z")
