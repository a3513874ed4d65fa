"""Settings as an owner writes them: the README's steps, includes and the errors they give."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from arena.config import ConfigError, load_settings
from arena.config_live import ProviderKind
from arena.providers import PROVIDERS

REPO = Path(__file__).resolve().parents[1]


def readme_block(heading: str) -> list[str]:
    """The shell lines of the first ```bash block under *heading* in the README."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading):]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, f"no bash block under {heading!r}"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines()
            if line.strip()]


def test_readme_include_step_works_verbatim_on_a_copy_of_config(tmp_path: Path) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    steps = [line for line in readme_block("## Adding models: live endpoints")
             if line.startswith(("cp ", "echo "))]
    assert len(steps) == 2, steps  # the copy and the include line
    for step in steps:
        subprocess.run(["bash", "-c", step], cwd=tmp_path, check=True)
    settings = load_settings(tmp_path / "config" / "arena.toml")
    example = load_settings(REPO / "config" / "models.example.toml")
    assert [m.name for m in settings.models] == [m.name for m in example.models]
    assert len(settings.models) >= 3
    assert settings.server.port == 7860  # the rest of the file still applies


def test_include_below_a_table_says_where_it_landed(tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text("")
    config = tmp_path / "arena.toml"
    config.write_text('database_url = "sqlite:///x.db"\n\n[server]\nport = 7000\n\n'
                      '[admin]\n# token = "..."\ninclude = ["models.toml"]\n')
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    message = str(error.value)
    assert "admin.include" in message and "line 8" in message and "[admin]" in message
    assert "above the first [table]" in message


def test_include_appends_models_and_the_including_file_wins(tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text(
        '[server]\nport = 9999\ntitle = "from include"\n\n'
        '[[models]]\nname = "m2"\nbase_url = "http://127.0.0.1:1/v1"\nmodel = "x"\n')
    config = tmp_path / "arena.toml"
    config.write_text('include = ["models.toml"]\n[server]\nport = 7001\n\n'
                      '[[models]]\nname = "m1"\nbase_url = "http://127.0.0.1:1/v1"\nmodel = "y"\n')
    settings = load_settings(config)
    assert [m.name for m in settings.models] == ["m1", "m2"]
    assert settings.server.port == 7001 and settings.config_file == config


def test_include_loop_and_missing_include_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('include = ["b.toml"]\n')
    (tmp_path / "b.toml").write_text('include = ["a.toml"]\n')
    with pytest.raises(ConfigError, match="include loop"):
        load_settings(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('include = ["nowhere.toml"]\n')
    with pytest.raises(ConfigError, match="config file not found: .*nowhere.toml"):
        load_settings(tmp_path / "c.toml")


def test_environment_beats_the_file_and_values_passed_in_beat_both(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "arena.toml"
    config.write_text("server.port = 7001\nserver.title = 'file'\nlive.max_turns = 4\n")
    monkeypatch.setenv("ARENA_SERVER__PORT", "7002")
    settings = load_settings(config, live={"max_turns": 5})
    assert (settings.server.port, settings.server.title, settings.live.max_turns) == (
        7002, "file", 5)


def test_unknown_provider_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "arena.toml"
    config.write_text('[[models]]\nname = "m"\nbase_url = "http://h/v1"\nmodel = "x"\n'
                      'provider = "anthropic"\n')
    with pytest.raises(ConfigError, match=r"models\[0\]\.provider"):
        load_settings(config)


def test_every_provider_kind_has_a_provider() -> None:
    assert set(get_args(ProviderKind)) == set(PROVIDERS)


def test_validating_settings_does_not_import_the_http_stack(tmp_path: Path) -> None:
    code = ("import sys; from arena.config import load_settings; "
            "load_settings(models=[{'name': 'm', 'base_url': 'http://h/v1', 'model': 'x'}]); "
            "loaded = [m for m in ('httpx', 'aiohttp', 'arena.providers') if m in sys.modules]; "
            "print(loaded); sys.exit(1 if loaded else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stdout + result.stderr
