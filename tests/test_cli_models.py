"""`arena models check|unpause|reload` as an owner runs them, against real endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from arena.config import load_settings
from arena.context import Arena
from arena.models import ArenaModel
from arena.services import live
from tests.utils.fake_openai import FakeOpenAI, Script, serve_fake_openai
from tests.utils.processes import arena_env, run_arena
from tests.utils.server import refusing_port

KEY = "sk-check-key-0123456789"


@pytest.fixture
def endpoints() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI(scripts={
        "good": Script(reply="OK"),
        "badkey": Script(status=401, echo_key=True),
        "nomodel": Script(status=404),
        "slow": Script(reply="OK", first_token_delay=1.5),
    })
    with serve_fake_openai(fake) as url:
        yield fake, url


def write_config(tmp_path: Path, url: str, models: dict[str, str], **extra: str) -> Path:
    lines = [f'database_url = "sqlite:///{tmp_path / "arena.db"}"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    for name, base_url in models.items():
        lines += ["[[models]]", f'name = "{name}"', f'base_url = "{base_url}"',
                  f'model = "{name.split("-")[0]}"', 'api_key_env = "CHECK_KEY"',
                  "first_token_timeout = 5", ""]
    config = tmp_path / "arena.toml"
    config.write_text("\n".join(lines))
    return config


def test_check_names_each_failure_and_exits_non_zero(tmp_path: Path, endpoints) -> None:
    _, url = endpoints
    with refusing_port() as port:
        refused = f"http://127.0.0.1:{port}/v1"
        config = write_config(tmp_path, url, {"good-1": url, "badkey-1": url,
                                              "nomodel-1": url, "slow-1": url,
                                              "refused-1": refused})
        result = run_arena("models", "check", "--slow", "1", "--config", str(config),
                           cwd=tmp_path, env=arena_env(CHECK_KEY=KEY))
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert result.returncode == 1, result.stdout + result.stderr
    assert lines["good-1"].startswith("ok (") and "ms to first token" in lines["good-1"]
    assert lines["badkey-1"].startswith("wrong key")
    assert lines["nomodel-1"].startswith("unknown model id")
    assert lines["slow-1"].startswith("slow first token")
    assert lines["refused-1"].startswith("unreachable")
    assert "4 of 5 endpoints failed the check" in result.stderr
    assert KEY not in result.stdout + result.stderr  # the 401 body echoed it
    # Nothing stored: no battle, no failure, no database even.
    assert not (tmp_path / "arena.db").exists()


def test_check_of_named_good_endpoints_exits_zero(tmp_path: Path, endpoints) -> None:
    _, url = endpoints
    config = write_config(tmp_path, url, {"good-1": url, "good-2": url, "badkey-1": url})
    result = run_arena("models", "check", "good-1", "good-2", "--config", str(config),
                       cwd=tmp_path, env=arena_env(CHECK_KEY=KEY))
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(line.split()[0] for line in result.stdout.splitlines()) == ["good-1", "good-2"]
    unknown = run_arena("models", "check", "nope", "--config", str(config), cwd=tmp_path,
                        env=arena_env(CHECK_KEY=KEY))
    assert unknown.returncode == 1 and "not a configured live model: nope" in unknown.stderr


def test_unpause_and_the_last_failure_in_the_listing(tmp_path: Path, endpoints,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _, url = endpoints
    monkeypatch.setenv("CHECK_KEY", KEY)
    monkeypatch.delenv("ARENA_DATABASE_URL")  # the config file's database, as the CLI's
    config = write_config(tmp_path, url, {"good-1": url, "badkey-1": url},
                          **{"battle.load_demo": "false", "live.failures_before_pause": "1"})
    settings = load_settings(config)
    arena = Arena.open(settings, migrate=True)
    from tests.services.test_live import play_turn

    with arena.session() as session:
        live.sync_models(session, settings)
    for _ in range(20):  # until the failing model was drawn once
        battle, _ = play_turn(arena, "Hello")
        if battle.status == "failed":
            break
    assert battle.status == "failed"
    arena.close()
    env = arena_env(CHECK_KEY=KEY)
    listed = run_arena("models", "--config", str(config), cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("badkey-1"))
    assert "paused until" in row and "last failure" in row and "upstream_request_error" in row
    assert "(1 in the last hour)" in row and KEY not in listed.stdout
    unpaused = run_arena("models", "unpause", "badkey-1", "--config", str(config),
                         cwd=tmp_path, env=env)
    assert unpaused.returncode == 0 and "badkey-1: unpaused" in unpaused.stdout
    arena = Arena.open(load_settings(config))
    with arena.session() as session:
        row_db = session.exec(select(ArenaModel).where(ArenaModel.name == "badkey-1")).one()
        assert row_db.paused_until is None and row_db.consecutive_failures == 0
        assert {m.name for m in live.available_models(session, arena.settings)} == {
            "good-1", "badkey-1"}
    arena.close()
    again = run_arena("models", "unpause", "badkey-1", "--config", str(config), cwd=tmp_path,
                      env=env)
    assert again.returncode == 0 and "was not paused" in again.stdout
    missing = run_arena("models", "unpause", "nobody", "--config", str(config), cwd=tmp_path,
                        env=env)
    assert missing.returncode == 1 and "no model named 'nobody'" in missing.stderr


def test_commands_do_not_migrate_and_say_how(tmp_path: Path) -> None:
    env = arena_env()
    listed = run_arena("models", cwd=tmp_path, env=env)
    assert listed.returncode == 1
    assert "no database at arena.db: run `arena db upgrade`" in listed.stderr
    assert not (tmp_path / "arena.db").exists()
    assert run_arena("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    listed = run_arena("models", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and "no models yet" in listed.stdout


def test_serve_checks_models_logs_json_and_reloads(tmp_path: Path, endpoints) -> None:
    import json
    import signal

    from tests.utils.processes import serving_process
    from tests.utils.waiting import wait_until

    _, url = endpoints
    config = write_config(tmp_path, url, {"good-1": url, "badkey-1": url},
                          **{"server.log_json": "true", "battle.load_demo": "false"})
    env = arena_env(CHECK_KEY=KEY)
    assert run_arena("db", "upgrade", "--config", str(config), cwd=tmp_path, env=env
                     ).returncode == 0
    with serving_process(tmp_path, env, extra_args=("--config", str(config),
                                                    "--check-models")) as served:
        def entries() -> list[dict]:
            return [json.loads(line) for line in served.log().splitlines()
                    if line.startswith("{")]

        def messages() -> str:
            return "\n".join(e["message"] for e in entries())

        wait_until(lambda: "check badkey-1" in messages(), timeout=30, what="the checks")
        checks = {e["message"].split(":")[0]: e["level"] for e in entries()
                  if e["message"].startswith("check ")}
        assert checks == {"check good-1": "info", "check badkey-1": "warning"}
        assert "wrong key" in messages() and KEY not in served.log()
        # Requests (the health probes above) are not logged at "info": events only.
        assert not [e for e in entries() if e["logger"] == "uvicorn.access"]

        config.write_text(config.read_text() + "\n[[models]]\nname = \"good-2\"\n"
                          f'base_url = "{url}"\nmodel = "good"\n')
        wait_until(lambda: "added: good-2" in messages(), timeout=30,
                   what="the reload after the file changed")
        served.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "no change to the models" in messages(), timeout=30,
                   what="the reload on SIGHUP")
