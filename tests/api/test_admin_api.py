"""The owner's live-model routes: trial battles, status, unpause, check, reload."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from arena.app import prepare
from arena.config import load_settings
from arena.context import Arena
from arena.models import Battle, ModelFailure
from arena.services.live_config import ConfigWatcher
from tests.api.test_live_api import read_events
from tests.utils.fake_openai import FakeOpenAI, Script, serve_fake_openai
from tests.utils.keys import script_headers
from tests.utils.server import LiveServer, start_server

TOKEN = "owner-token-0123456789"
OWNER = {"Authorization": f"Bearer {TOKEN}"}
KEY = "sk-secret-for-tests-987654321"


def model_table(name: str, url: str, **extra: object) -> str:
    lines = ["[[models]]", f'name = "{name}"', f'base_url = "{url}"', f'model = "id-{name}"',
             'api_key_env = "ADMIN_TEST_KEY"', "first_token_timeout = 3", "stall_timeout = 2"]
    lines += [f"{key} = {value!r}".replace("'", '"') for key, value in extra.items()]
    return "\n".join(lines) + "\n\n"


@contextmanager
def owner_arena(tmp_path: Path, database_url: str, scripts: dict[str, Script],
                models: dict[str, dict], monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[tuple[Arena, LiveServer, FakeOpenAI, Path, str]]:
    monkeypatch.setenv("ADMIN_TEST_KEY", KEY)
    fake = FakeOpenAI(scripts={f"id-{n}": s for n, s in scripts.items()})
    with serve_fake_openai(fake) as url:
        config = tmp_path / "arena.toml"
        write_models(config, url, models)
        arena = prepare(load_settings(config, database_url=database_url,
                                      battle={"load_demo": False}))
        try:
            with start_server(arena) as server:
                yield arena, server, fake, config, url
        finally:
            arena.close()


def write_models(config: Path, url: str, models: dict[str, dict]) -> None:
    config.write_text(f'admin.token = "{TOKEN}"\nlive.failures_before_pause = 1\n\n'
                      + "".join(model_table(n, url, **extra) for n, extra in models.items()))


def test_owner_routes_need_the_token(tmp_path, database_url, monkeypatch) -> None:
    with owner_arena(tmp_path, database_url, {}, {"m1": {}, "m2": {}}, monkeypatch) as (
            _, server, _, _, _):
        for method, path in [("GET", "/api/admin/models"), ("POST", "/api/admin/models/reload"),
                             ("POST", "/api/admin/models/m1/unpause"),
                             ("POST", "/api/admin/models/check"), ("POST", "/api/admin/battles")]:
            for headers in ({}, {"Authorization": "Bearer wrong-token-000000"}):
                answer = httpx.request(method, server.url + path, headers=headers, json={})
                assert answer.status_code == 401, (method, path)


def test_trial_battle_between_chosen_models_never_counts(tmp_path, database_url,
                                                         monkeypatch) -> None:
    scripts = {"fresh": Script(reply="fresh endpoint answer"), "old": Script(reply="old one")}
    # "fresh" has weight 0: voters never draw it, the owner can still try it.
    models = {"fresh": {"weight": 0}, "old": {}, "other": {}}
    with owner_arena(tmp_path, database_url, scripts, models, monkeypatch) as (
            arena, server, _, _, _):
        with httpx.Client(base_url=server.url, timeout=30) as client:
            with client.stream("POST", "/api/admin/battles", headers=OWNER, json={
                    "models": ["fresh", "old"], "prompt": "Hello", "stream": True}) as response:
                assert response.status_code == 200
                events = read_events(response)
            done = events[-1][1]
            assert done["mode"] == "trial" and done["anony"] is False
            assert (done["model_a"], done["model_b"]) == ("fresh", "old")
            assert done["conversation_a"][-1]["content"] == "fresh endpoint answer "
            battle_id = done["battle_id"]
            vote = client.post(f"/api/battles/{battle_id}/vote", json={"winner": "model_a"},
                               headers=script_headers(arena, "owner-trial-voter"))
            assert vote.status_code == 409 and "trial" in vote.json()["detail"]
            plain = client.post("/api/admin/battles", headers=OWNER,
                                json={"models": ["old", "other"], "prompt": "Hi"})
            assert plain.status_code == 201 and plain.json()["status"] == "ready"
            bad = client.post("/api/admin/battles", headers=OWNER,
                              json={"models": ["old", "ghost"], "prompt": "Hi"})
            assert bad.status_code == 404 and "ghost" in bad.json()["detail"]
            assert client.get("/api/leaderboard").json() == []
        with arena.session() as session:
            trials = session.exec(select(Battle).where(Battle.mode == "trial")).all()
            assert len(trials) == 2
        export = httpx.get(f"{server.url}/api/export", headers=OWNER)
        assert export.status_code == 200 and export.text == ""


def test_status_shows_the_last_failure_without_the_key_and_unpause_draws_again(
        tmp_path, database_url, monkeypatch, caplog) -> None:
    scripts = {"good": Script(reply="fine"), "leaky": Script(status=401, echo_key=True)}
    models = {"good": {}, "leaky": {}, "spare": {}}
    caplog.set_level(logging.INFO, logger="arena")
    with owner_arena(tmp_path, database_url, scripts, models, monkeypatch) as (
            arena, server, _, _, _):
        with httpx.Client(base_url=server.url, timeout=30) as client:
            trial = client.post("/api/admin/battles", headers=OWNER,
                                json={"models": ["good", "leaky"], "prompt": "Hi"})
            assert trial.json()["status"] == "failed"
            status = {r["model"]: r for r in client.get("/api/admin/models",
                                                        headers=OWNER).json()["data"]}
            leaky = status["leaky"]
            assert leaky["available"] is False and leaky["paused_until"]
            failure = leaky["last_failure"]
            assert failure["kind"] == "upstream_request_error" and failure["last_hour"] == 1
            assert "HTTP 401" in failure["reason"] and KEY not in failure["reason"]
            assert status["good"]["last_failure"] is None
            unpaused = client.post("/api/admin/models/leaky/unpause", headers=OWNER)
            assert unpaused.json() == {"model": "leaky", "was_paused": True}
            again = client.get("/api/admin/models", headers=OWNER).json()["data"]
            assert next(r for r in again if r["model"] == "leaky")["available"] is True
        with arena.session() as session:
            stored = session.exec(select(Battle)).one()
            reasons = [f.reason for f in session.exec(select(ModelFailure))]
        assert KEY not in (stored.failure_reason or "") and "***" in stored.failure_reason
        assert reasons and all(KEY not in r for r in reasons)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "leaky failed" in logged and KEY not in logged


def test_check_route(tmp_path, database_url, monkeypatch) -> None:
    scripts = {"good": Script(reply="OK"), "gone": Script(status=404)}
    with owner_arena(tmp_path, database_url, scripts, {"good": {}, "gone": {}},
                     monkeypatch) as (_, server, _, _, _):
        answer = httpx.post(f"{server.url}/api/admin/models/check", headers=OWNER, json={},
                            timeout=30).json()
        verdicts = {r["model"]: r["verdict"] for r in answer["data"]}
        assert verdicts == {"good": "ok", "gone": "unknown_model"} and answer["ok"] is False


def test_reload_adds_and_removes_models_while_a_battle_runs(tmp_path, database_url,
                                                            monkeypatch) -> None:
    scripts = {"slowpoke": Script(reply=" ".join(["word"] * 30), token_delay=0.05),
               "steady": Script(reply=" ".join(["word"] * 30), token_delay=0.05),
               "newcomer": Script(reply="new model here")}
    with owner_arena(tmp_path, database_url, scripts, {"slowpoke": {}, "steady": {}},
                     monkeypatch) as (arena, server, fake, config, url):
        results: dict[str, dict] = {}

        def battle_in_flight() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                results["flight"] = client.post("/api/battles", json={"prompt": "Go"}).json()

        flight = threading.Thread(target=battle_in_flight)
        flight.start()
        deadline = time.monotonic() + 10
        while len(fake.requests) < 2 and time.monotonic() < deadline:  # both sides asked
            time.sleep(0.01)
        assert len(fake.requests) == 2  # the battle is streaming (its answers take ~1.5 s)
        write_models(config, url, {"steady": {}, "newcomer": {}})
        reloaded = httpx.post(f"{server.url}/api/admin/models/reload", headers=OWNER).json()
        assert reloaded["added"] == ["newcomer"] and reloaded["removed"] == ["slowpoke"]
        flight.join(timeout=30)
        finished = results["flight"]
        assert finished["status"] == "ready"  # the removed model finished its answer
        assert finished["conversation_a"][-1]["content"].count("word") == 30
        drawn = set()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for _ in range(6):
                battle_id = client.post("/api/battles", json={"prompt": "Hi"}).json()["battle_id"]
                vote = client.post(f"/api/battles/{battle_id}/vote", json={"winner": "tie"})
                drawn |= {vote.json()["model_a"], vote.json()["model_b"]}
        assert drawn == {"steady", "newcomer"}

        config.write_text(config.read_text() + "\n[[models]]\nname = 3\n")
        broken = httpx.post(f"{server.url}/api/admin/models/reload", headers=OWNER)
        assert broken.status_code == 422 and "models[2].name" in broken.json()["detail"]
        assert [m.name for m in arena.settings.models] == ["steady", "newcomer"]


def test_watcher_reloads_when_the_file_changes(tmp_path, database_url, monkeypatch) -> None:
    with owner_arena(tmp_path, database_url, {}, {"one": {}, "two": {}}, monkeypatch) as (
            arena, _, _, config, url):
        watcher = ConfigWatcher(arena, interval=0.1).start()
        try:
            write_models(config, url, {"one": {}, "two": {}, "three": {}})
            deadline = time.monotonic() + 10
            while len(arena.settings.models) != 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [m.name for m in arena.settings.models] == ["one", "two", "three"]
        finally:
            watcher.stop()
