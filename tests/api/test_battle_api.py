"""The REST contract, over real HTTP against the served app."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from arena.models import Battle, Vote
from tests.utils.factories import MODELS, import_small_set
from tests.utils.keys import script_headers


@pytest.fixture
def api(server, tmp_path: Path):
    import_small_set(server.arena, tmp_path)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def votes_stored(server) -> int:
    with server.arena.session() as session:
        return session.exec(select(func.count()).select_from(Vote)).one()


def test_healthz(api) -> None:
    response = api.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_battle_is_anonymous_and_vote_reveals(api, server) -> None:
    created = api.post("/api/battles", json={})
    assert created.status_code == 201
    assert "arena_voter" in created.cookies
    body = created.json()
    assert not any(model in created.text for model in MODELS)
    assert {"battle_id", "conversation_a", "conversation_b"} <= set(body)
    assert body["conversation_a"][0]["role"] == "user"

    voted = api.post(f"/api/battles/{body['battle_id']}/vote", json={"winner": "model_b"})
    assert voted.status_code == 200
    with server.arena.session() as session:
        battle = session.get(Battle, body["battle_id"])
    assert voted.json() == {"battle_id": battle.id, "winner": "model_b",
                            "model_a": battle.model_a, "model_b": battle.model_b}
    assert battle.voter_id == created.cookies["arena_voter"].rpartition(".")[0]  # id.signature
    assert battle.ip_hash and "127.0.0.1" not in battle.ip_hash


def test_voter_header_identifies_a_script(api, server) -> None:
    headers = script_headers(server.arena, "load-test-script-1")
    battle = api.post("/api/battles", json={}, headers=headers).json()
    api.cookies.clear()
    ok = api.post(f"/api/battles/{battle['battle_id']}/vote", json={"winner": "tie"},
                  headers=headers)
    assert ok.status_code == 200


def test_refusals_are_clear_and_store_nothing(api, server) -> None:
    battle_id = api.post("/api/battles", json={}).json()["battle_id"]
    vote_url = f"/api/battles/{battle_id}/vote"

    other = api.post(vote_url, json={"winner": "model_a"},
                     headers=script_headers(server.arena, "intruder-99"))
    assert other.status_code == 403 and "another voter" in other.json()["detail"]
    unknown = api.post("/api/battles/deadbeef/vote", json={"winner": "model_a"})
    assert unknown.status_code == 404 and "no battle" in unknown.json()["detail"]
    for bad in ({"winner": "model_c"}, {}, {"winner": "tie", "extra": 1}, [1]):
        assert api.post(vote_url, json=bad).status_code == 422
    garbled = api.post(vote_url, content=b"{not json", headers={"content-type": "application/json"})
    assert garbled.status_code == 422
    assert votes_stored(server) == 0

    assert api.post(vote_url, json={"winner": "tie (bothbad)"}).status_code == 200
    again = api.post(vote_url, json={"winner": "model_a"})
    assert again.status_code == 409 and "already" in again.json()["detail"]
    assert votes_stored(server) == 1


def test_battle_can_be_fetched_only_by_its_voter(api, server) -> None:
    battle_id = api.post("/api/battles", json={}).json()["battle_id"]
    mine = api.get(f"/api/battles/{battle_id}")
    assert mine.status_code == 200 and "model_a" not in mine.json()
    assert api.get(f"/api/battles/{battle_id}",
                   headers=script_headers(server.arena, "someone-else-1")).status_code == 403
    api.post(f"/api/battles/{battle_id}/vote", json={"winner": "model_a"})
    assert api.get(f"/api/battles/{battle_id}").json()["model_a"] in MODELS
