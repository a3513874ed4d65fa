"""battle.named_mode over REST, and the seen_named rule in /api/leaderboard and /api/export."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.utils.factories import MODELS
from tests.utils.named import REFERENCE_MODELS, named_server

TOKEN = "owner-token-0123456789abcdef"


def test_off_refuses_named_battles_with_a_clear_message(database_url, tmp_path: Path) -> None:
    with named_server(database_url, tmp_path, named_mode="off") as server, \
            httpx.Client(base_url=server.url) as client:
        refused = client.post("/api/battles", json={"models": [MODELS[0], MODELS[1]]})
        assert refused.status_code == 403
        assert refused.json()["detail"].startswith("named battles are turned off")
        assert client.post("/api/battles", json={}).status_code == 201


def test_separate_with_every_set_anonymous_says_what_to_configure(database_url,
                                                                 tmp_path: Path) -> None:
    with named_server(database_url, tmp_path, named_mode="separate", answer_sets=[],
                      reference=True) as server, httpx.Client(base_url=server.url) as client:
        empty = client.post("/api/battles", json={"models": list(REFERENCE_MODELS)})
        assert empty.status_code == 404 and "battle.answer_sets" in empty.json()["detail"]


def test_separate_draws_only_what_anonymous_battles_do_not(database_url,
                                                          tmp_path: Path) -> None:
    with named_server(database_url, tmp_path, named_mode="separate",
                      reference=True) as server, httpx.Client(base_url=server.url) as client:
        anon_models = client.post("/api/battles", json={"models": [MODELS[0], MODELS[1]]})
        assert anon_models.status_code == 404
        named = client.post("/api/battles", json={"models": list(REFERENCE_MODELS)})
        assert named.status_code == 201 and named.json()["model_a"] == REFERENCE_MODELS[0]
        assert "Reference answer" in named.json()["conversation_a"][1]["content"]


def test_on_flags_the_later_anonymous_vote_and_the_views_include_it(database_url,
                                                                    tmp_path: Path) -> None:
    with named_server(database_url, tmp_path, named_mode="on", models=MODELS[:2],
                      questions=1, admin={"token": TOKEN}) as server, \
            httpx.Client(base_url=server.url) as client:
        named = client.post("/api/battles", json={"models": [MODELS[0], MODELS[1]]})
        assert named.status_code == 201 and named.json()["anony"] is False
        battle = client.post("/api/battles", json={}).json()
        assert client.post(f"/api/battles/{battle['battle_id']}/vote",
                           json={"winner": "model_a"}).status_code == 200
        assert client.get("/api/leaderboard").json() == []
        counted = client.get("/api/leaderboard", params={"include_seen_named": "true"}).json()
        assert sum(row["votes"] for row in counted) == 2
        auth = {"Authorization": f"Bearer {TOKEN}"}
        hidden = client.get("/api/export", headers=auth)
        assert hidden.status_code == 200 and hidden.text == ""
        shown = client.get("/api/export", headers=auth, params={"include_seen_named": "true"})
        assert '"seen_named": true' in shown.text and shown.text.count("\n") == 1
