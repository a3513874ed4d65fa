"""The `arena` command as an owner runs it, in a fresh directory."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from arena.config import load_settings
from arena.context import Arena
from arena.models import AnswerSet
from tests.utils.processes import arena_env, run_arena, serving


def test_serve_with_no_config_uses_sqlite_here_and_the_demo(tmp_path: Path) -> None:
    with serving(tmp_path, arena_env()) as url:
        battle = httpx.post(f"{url}/api/battles", json={})
        assert battle.status_code == 201
        vote = httpx.post(f"{url}/api/battles/{battle.json()['battle_id']}/vote",
                          json={"winner": "model_a"}, cookies=battle.cookies)
        assert vote.status_code == 200 and vote.json()["model_a"].startswith("demo-")
        page = httpx.get(url)
        assert page.status_code == 200 and "<html" in page.text.lower()
    assert (tmp_path / "arena.db").is_file()
    models = run_arena("models", cwd=tmp_path, env=arena_env())
    assert models.returncode == 0 and "demo-scholar" in models.stdout


def test_upgrade_import_and_list_models(tmp_path: Path, database_url: str,
                                        shared_data: Path) -> None:
    env = arena_env(database_url)
    upgraded = run_arena("db", "upgrade", cwd=tmp_path, env=env)
    assert upgraded.returncode == 0 and "database at revision" in upgraded.stdout
    imported = run_arena("import", "answers", str(shared_data / "mt-bench-answers"),
                         cwd=tmp_path, env=env)
    assert imported.returncode == 0, imported.stderr
    assert "80 questions, 32 models, 2560 answers" in imported.stdout
    listed = run_arena("models", cwd=tmp_path, env=env)
    assert listed.returncode == 0
    assert "gpt-4 " in listed.stdout and "vicuna-33b-v1.3" in listed.stdout


def test_malformed_answer_file_names_the_line_and_imports_nothing(
    tmp_path: Path, database_url: str
) -> None:
    path = tmp_path / "answers.jsonl"
    good = '{"question_id": "q%d", "turns": ["hi"], "answers": {"m1": ["a"], "m2": ["b"]}}\n'
    path.write_text("".join(good % n for n in range(1, 7)) + '{"question_id": "q7", "turns": [\n')
    result = run_arena("import", "answers", str(path), cwd=tmp_path,
                       env=arena_env(database_url))
    assert result.returncode == 1
    assert f"{path}:7: invalid JSON" in result.stderr and "nothing imported" in result.stderr
    arena = Arena.open(load_settings(database_url=database_url), migrate=True)
    with arena.session() as session:
        assert session.exec(select(func.count()).select_from(AnswerSet)).one() == 0
    arena.close()


@pytest.mark.parametrize(
    ("toml", "env", "key"),
    [
        ("[server]\nport = 'eighty'\n", {}, "server.port"),
        ("[battle]\nload_demo = 'maybe'\n", {}, "battle.load_demo"),
        ("[servr]\nport = 1\n", {}, "servr: unknown key"),
        ("", {"ARENA_DATABASE_URL": "mysql://x"}, "database_url"),
        ("[server\n", {}, "not valid TOML"),
    ],
)
def test_invalid_config_exits_naming_the_key(tmp_path: Path, toml: str, env: dict, key: str
                                             ) -> None:
    config = tmp_path / "arena.toml"
    config.write_text(toml)
    result = run_arena("models", "--config", str(config), cwd=tmp_path,
                       env=arena_env(**env))
    assert result.returncode == 2
    assert key in result.stderr


def test_config_file_in_config_folder_is_picked_up(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "arena.toml").write_text('database_url = "sqlite:///other.db"\n')
    assert run_arena("db", "upgrade", cwd=tmp_path, env=arena_env()).returncode == 0
    assert (tmp_path / "other.db").is_file() and not (tmp_path / "arena.db").exists()
