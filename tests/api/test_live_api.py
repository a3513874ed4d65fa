"""Live battles over the REST API, streamed as server-sent events."""

from __future__ import annotations

import json

import httpx
from sqlmodel import select

from arena.models import Battle
from tests.utils.fake_openai import Script
from tests.utils.live import LIVE_MODELS, assert_streamed_in_order, live_arena
from tests.utils.server import start_server
from tests.utils.waiting import wait_until


def read_events(response: httpx.Response) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


def test_streamed_battle_then_vote(database_url: str) -> None:
    scripts = {name: Script(reply=f"answer number {i} here", token_delay=0.06)
               for i, name in enumerate(LIVE_MODELS)}
    with live_arena(database_url, scripts) as (arena, _), start_server(arena) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            with client.stream("POST", "/api/battles",
                               json={"prompt": "Hi", "stream": True}) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                events = read_events(response)
            raw = json.dumps(events)
            assert not any(name in raw for name in LIVE_MODELS)
            kinds = [name for name, _ in events]
            assert kinds[0] == "battle" and kinds[-1] == "done"
            assert set(kinds[1:-1]) == {"delta"}
            battle_id = events[0][1]["battle_id"]
            done = events[-1][1]
            assert done["status"] == "ready" and done["errors"] == {"a": None, "b": None}
            assert {done["conversation_a"][-1]["content"], done["conversation_b"][-1]["content"]
                    } == {f"answer number {i} here " for i in range(len(LIVE_MODELS))}
            assert_streamed_in_order(
                [(e["side"], e["text"]) for n, e in events if n == "delta"],
                {"a": done["conversation_a"][-1]["content"],
                 "b": done["conversation_b"][-1]["content"]})

            follow = client.post(f"/api/battles/{battle_id}/turns", json={"prompt": "More?"})
            assert follow.status_code == 200 and len(follow.json()["conversation_b"]) == 4
            vote = client.post(f"/api/battles/{battle_id}/vote", json={"winner": "model_b"})
            assert vote.status_code == 200 and vote.json()["model_b"] in LIVE_MODELS


def test_failed_live_battle_cannot_be_voted_over_the_api(database_url: str) -> None:
    scripts = {LIVE_MODELS[0]: Script(status=500)}
    with live_arena(database_url, scripts) as (arena, _), start_server(arena) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            created = client.post("/api/battles", json={"prompt": "Hi"})
            assert created.status_code == 201
            body = created.json()
            assert body["status"] == "failed"
            assert "upstream_server_error" in body["errors"].values()
            assert "HTTP 500" not in json.dumps(body) and "127.0.0.1" not in json.dumps(body)
            vote = client.post(f"/api/battles/{body['battle_id']}/vote", json={"winner": "tie"})
            assert vote.status_code == 409
        with arena.session() as session:
            assert session.exec(select(Battle.status)).all() == ["failed"]


def test_live_input_limit_over_the_api(database_url: str) -> None:
    with live_arena(database_url, live={"max_input_chars": 5}) as (arena, fake), \
            start_server(arena) as server:
        refused = httpx.post(f"{server.url}/api/battles", json={"prompt": "too long"})
        assert refused.status_code == 422 and "limit is 5" in refused.json()["detail"]
        assert fake.requests == []


def test_a_voter_who_disconnects_mid_stream_stops_both_requests(database_url: str) -> None:
    scripts = {name: Script(reply="word " * 200, token_delay=0.05) for name in LIVE_MODELS}
    with live_arena(database_url, scripts) as (arena, fake), start_server(arena) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            with client.stream("POST", "/api/battles",
                               json={"prompt": "Hi", "stream": True}) as response:
                lines = response.iter_lines()
                battle_id = json.loads(next(ln for ln in lines if ln.startswith("data: "))[6:])[
                    "battle_id"]
                next(ln for ln in lines if ln == "event: delta")
            # the connection is closed here, about 10 s before the answers would end

        def stored_battle() -> Battle | None:
            with arena.session() as session:
                return session.get(Battle, battle_id)

        stored = wait_until(stored_battle, timeout=30, what="the cancelled battle being stored")
        assert stored.status == "failed"
        assert stored.failure_reason.count("cancelled") == 2
        with httpx.Client(base_url=server.url, cookies=client.cookies) as same_voter:
            vote = same_voter.post(f"/api/battles/{battle_id}/vote", json={"winner": "tie"})
        assert vote.status_code == 409  # the battle's own voter: refused, not votable
