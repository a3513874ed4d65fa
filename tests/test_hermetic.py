"""The tests see nothing of the checkout they run from, nor of the developer's shell.

An owner's checkout holds `config/arena.toml` (with `include = ["models.toml"]`
naming real endpoints) and the `arena.db` that `make run` filled with votes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import func, select

from arena import services
from arena.config import load_settings
from arena.context import Arena
from arena.models import ArenaModel, Vote
from arena.services.voters import Voter
from tests.utils.factories import MODELS, import_small_set
from tests.utils.limits import NO_LIMITS
from tests.utils.processes import REPO, arena_env, outside_checkout, run_arena

ENDPOINT = "owner-endpoint-model"


def owners_checkout(root: Path) -> Path:
    """A working directory as `make run` leaves it: config with an include, votes in arena.db."""
    (root / "config").mkdir(parents=True)
    (root / "config" / "arena.toml").write_text(
        'include = ["models.toml"]\ndatabase_url = "sqlite:///arena.db"\n'
        '[battle]\nload_demo = false\n')
    (root / "config" / "models.toml").write_text(
        f'[[models]]\nname = "{ENDPOINT}"\nbase_url = "https://api.openai.com/v1"\n'
        'model = "gpt-4o"\napi_key_env = "OPENAI_API_KEY"\n')
    arena = Arena.open(load_settings(root / "config" / "arena.toml",
                                     database_url=f"sqlite:///{root / 'arena.db'}"),
                       migrate=True)
    try:
        import_small_set(arena, root)
        voter = Voter(id="owner-voter-0001", ui_language="en")
        for _ in range(3):
            with arena.session() as session:
                shown = services.start_battle(session, limits=NO_LIMITS, voter=voter)
                services.record_vote(session, limits=NO_LIMITS,
                                     battle_id=shown.battle_id, winner="model_a",
                                     voter=voter)
    finally:
        arena.close()
    return root


def votes_in(url: str) -> int:
    arena = Arena.open(load_settings(database_url=url))
    try:
        with arena.session() as session:
            return session.exec(select(func.count()).select_from(Vote)).one()
    finally:
        arena.close()


def test_settings_and_database_are_the_tests_own() -> None:
    """Also run by the next test from an owner's checkout with its ARENA_* variables set."""
    settings = load_settings()
    assert settings.models == [] and settings.admin.token is None
    assert Path.cwd() != REPO and REPO not in Path.cwd().parents
    assert not (Path.cwd() / "config").exists() and not (Path.cwd() / "arena.db").exists()
    arena = Arena.open(settings, migrate=True)
    try:
        with arena.session() as session:
            assert session.exec(select(func.count()).select_from(Vote)).one() == 0
            names = set(session.exec(select(ArenaModel.name)))
        assert not names & {*MODELS, ENDPOINT}
    finally:
        arena.close()


@pytest.mark.slow
def test_a_checkout_with_config_and_votes_does_not_reach_the_tests(tmp_path: Path) -> None:
    checkout = owners_checkout(tmp_path / "checkout")
    polluted_db = f"sqlite:///{checkout / 'arena.db'}"
    assert votes_in(polluted_db) == 3
    shell = {**os.environ, "ARENA_CONFIG": str(checkout / "config" / "arena.toml"),
             "ARENA_DATABASE_URL": polluted_db, "ARENA_ADMIN__TOKEN": "x" * 16}
    probe = f"{Path(__file__).resolve()}::test_settings_and_database_are_the_tests_own"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO),
         "--basetemp", str(tmp_path / "inner"), probe],
        cwd=checkout, env=shell, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed" in done.stdout
    assert votes_in(polluted_db) == 3 and sorted(p.name for p in checkout.iterdir()) == [
        "arena.db", "config", "small.jsonl"]


def test_child_processes_start_clean_and_away_from_the_checkout(tmp_path: Path,
                                                                monkeypatch) -> None:
    checkout = owners_checkout(tmp_path / "checkout")
    monkeypatch.chdir(checkout)
    monkeypatch.setenv("ARENA_CONFIG", str(checkout / "config" / "arena.toml"))
    monkeypatch.setenv("ARENA_DATABASE_URL", f"sqlite:///{checkout / 'arena.db'}")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    own = arena_env(f"sqlite:///{fresh / 'own.db'}")
    assert run_arena("db", "upgrade", cwd=fresh, env=own).returncode == 0
    listed = run_arena("models", cwd=fresh, env=own)
    assert listed.returncode == 0, listed.stderr
    assert ENDPOINT not in listed.stdout and not any(m in listed.stdout for m in MODELS)
    assert not {k for k in arena_env() if k.startswith("ARENA_")}
    with pytest.raises(ValueError, match="inside the checkout"):
        outside_checkout(REPO / "tests")
