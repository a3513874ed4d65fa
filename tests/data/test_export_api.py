"""GET /api/export and the /admin Data page: the owner's token or nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest

from arena.context import Arena
from arena.times import TimeValueError
from tests.data.conftest import ADMIN_TOKEN
from tests.data.seed import IPS, seed_votes
from tests.utils.server import LiveServer

BAD_HEADERS = [
    {},
    {"Authorization": "Bearer wrong-token-0123456789"},
    {"Authorization": f"Basic {ADMIN_TOKEN}"},
    {"X-Admin-Token": ADMIN_TOKEN[:-1]},
    {"X-Admin-Token": ""},
]


@pytest.fixture
def seeded_server(server: LiveServer, tmp_path: Path) -> LiveServer:
    seed_votes(server.arena, tmp_path)
    return server


@pytest.mark.parametrize("headers", BAD_HEADERS)
def test_export_refuses_without_the_token(seeded_server: LiveServer, headers: dict) -> None:
    response = httpx.get(f"{seeded_server.url}/api/export", params={"format": "jsonl"},
                         headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "admin token required"}
    assert "alpha-7b" not in response.text


def test_export_streams_each_format_with_the_token(seeded_server: LiveServer) -> None:
    url = f"{seeded_server.url}/api/export"
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    jsonl = httpx.get(url, params={"format": "jsonl"}, headers=bearer)
    assert jsonl.status_code == 200
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in jsonl.headers["content-disposition"]
    records = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(records) == 23  # flagged and identity-leak battles left out by default
    assert not any(ip in jsonl.text for ip in IPS)
    with httpx.stream("GET", url, params={"format": "parquet", "include_flagged": "true"},
                      headers={"X-Admin-Token": ADMIN_TOKEN}) as response:
        assert response.status_code == 200
        body = b"".join(response.iter_bytes())
    import pyarrow.parquet as pq

    assert pq.read_table(io.BytesIO(body)).num_rows == 25
    named = httpx.get(url, params={"format": "csv", "anony_only": "false", "model": "bravo-13b",
                                   "include_conversations": "false"}, headers=bearer)
    assert named.status_code == 200 and "conversation_a" not in named.text.splitlines()[0]
    rows = named.text.splitlines()[1:]
    assert rows and all("bravo-13b" in row for row in rows)
    as_json = httpx.get(url, params={"format": "json", "since": "2030-01-01"}, headers=bearer)
    assert as_json.status_code == 200 and json.loads(as_json.text) == []
    assert httpx.get(url, params={"format": "xml"}, headers=bearer).status_code == 422


LIVE_VOTE = 1767323045.678901  # the seeded live vote: 2026-01-02T03:04:05.678901Z, by hand


@pytest.mark.parametrize(("since", "until"), [
    ("1767323045", "1767323046"),  # unix seconds
    ("1767323045.5", "1767323045.7"),
    ("2026-01-02T05:04:05+02:00", "2026-01-02T05:04:06+02:00"),  # an offset
    ("2026-01-02T03:04:05", "2026-01-02T03:04:06"),  # naive = UTC
    ("2026-01-02", "2026-01-03"),  # dates
])
def test_export_since_until_take_iso_and_unix_seconds(seeded_server: LiveServer, since: str,
                                                     until: str) -> None:
    response = httpx.get(f"{seeded_server.url}/api/export",
                         params={"since": since, "until": until, "include_flagged": "true"},
                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200
    assert [json.loads(line)["tstamp"] for line in response.text.splitlines()] == [LIVE_VOTE]


@pytest.mark.parametrize("param", ["since", "until"])
def test_export_refuses_a_bad_time_naming_the_parameter(seeded_server: LiveServer,
                                                        param: str) -> None:
    response = httpx.get(f"{seeded_server.url}/api/export", params={param: "last-tuesday"},
                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", param]
    assert f"{param}: expected an ISO 8601 date/time or unix seconds, got 'last-tuesday'" in (
        error["msg"])


def test_admin_page_needs_the_login(seeded_server: LiveServer) -> None:
    config = httpx.get(f"{seeded_server.url}/admin/config")
    assert config.status_code in (401, 403)
    assert "admin-export-button" not in config.text
    wrong = httpx.post(f"{seeded_server.url}/admin/login",
                       data={"username": "admin", "password": "not-the-token-000"})
    assert wrong.status_code == 400
    with httpx.Client(base_url=seeded_server.url) as owner:
        login = owner.post("/admin/login", data={"username": "admin", "password": ADMIN_TOKEN})
        assert login.status_code == 200
        page = owner.get("/admin/config")
        assert page.status_code == 200 and "admin-export-button" in page.text


def test_admin_export_writes_a_download_and_overview_counts(seeded: Arena) -> None:
    from arena.ui.admin import build_admin_blocks, export_file, overview

    blocks = build_admin_blocks(seeded)
    elem_ids = {c.get("props", {}).get("elem_id") for c in blocks.config["components"]}
    assert {"admin-export-button", "admin-export-file", "admin-votes-per-day",
            "admin-last-votes", "admin-export-since", "admin-export-until"} <= elem_ids
    path = export_file(seeded, "csv", include_conversations=False)
    try:
        assert path.suffix == ".csv" and len(path.read_text().splitlines()) == 24
    finally:
        path.unlink()
    path = export_file(seeded, "jsonl", since="1767323045", until="2026-01-02T05:04:06+02:00",
                       include_flagged=True)
    try:
        assert [json.loads(line)["tstamp"] for line in path.read_text().splitlines()] == [
            LIVE_VOTE]
    finally:
        path.unlink()
    with pytest.raises(TimeValueError, match="until: .* got 'soon'"):
        export_file(seeded, "jsonl", until="soon")
    summary, per_day, recent = overview(seeded)
    assert "**25** votes stored; **23** exported" in summary
    assert sum(count for _, count in per_day) == 24  # the live vote is dated January 2026
    assert len(recent) == 20 and recent[0][1:4] == ["alpha-7b", "bravo-13b", "model_b"]
