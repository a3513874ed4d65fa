"""`arena export votes` / `arena import votes` as an owner runs them."""

from __future__ import annotations

import json
from pathlib import Path

from arena.context import Arena
from tests.data.conftest import SALT
from tests.utils.processes import arena_env, run_arena


def test_export_then_import_through_the_command(seeded: Arena, tmp_path: Path,
                                                database_url: str) -> None:
    env = arena_env(database_url, ARENA_SECRET_SALT=SALT)
    out = tmp_path / "votes.parquet"
    exported = run_arena("export", "votes", "--format", "parquet", "--out", str(out),
                         "--include-flagged", cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    assert f"exported 25 votes to {out} (parquet)" in exported.stdout
    assert "exporting votes" not in exported.stderr  # no progress bar without a terminal
    jsonl = tmp_path / "anony.jsonl"
    filtered = run_arena("export", "votes", "--out", str(jsonl), "--anony-only",
                         "--no-conversations", "--since", "2026-06-01", cwd=tmp_path, env=env)
    assert filtered.returncode == 0, filtered.stderr
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert records and all(r["anony"] and "conversation_a" not in r for r in records)
    assert all(r["tstamp"] >= 1780272000 for r in records)  # 2026-06-01: the live vote is not

    other = arena_env(f"sqlite:///{tmp_path / 'other.db'}")
    assert run_arena("db", "upgrade", cwd=tmp_path, env=other).returncode == 0  # a new arena
    imported = run_arena("import", "votes", str(out), "--source", "seeded", cwd=tmp_path,
                         env=other)
    assert imported.returncode == 0, imported.stderr
    assert "imported 25 votes" in imported.stdout and "0 duplicates" in imported.stdout
    again = run_arena("import", "votes", str(out), "--source", "seeded", cwd=tmp_path, env=other)
    assert "imported 0 votes" in again.stdout and "25 duplicates skipped" in again.stdout

    rated = run_arena("ratings", "--input", str(jsonl), "--format", "json", cwd=tmp_path,
                      env=env)
    assert rated.returncode == 0, rated.stderr
    assert {row["model"] for row in json.loads(rated.stdout)} == {
        m for r in records for m in (r["model_a"], r["model_b"])}


def test_export_times_in_iso_with_offset_or_unix_seconds(seeded: Arena, tmp_path: Path,
                                                       database_url: str) -> None:
    env = arena_env(database_url, ARENA_SECRET_SALT=SALT)
    out = tmp_path / "live.jsonl"
    # the seeded live vote, 2026-01-02T03:04:05.678901Z (unix 1767323045.678901 by hand)
    exported = run_arena("export", "votes", "--out", str(out), "--include-flagged",
                         "--since", "1767323045", "--until", "2026-01-02T05:04:06+02:00",
                         cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    assert [json.loads(line)["tstamp"] for line in out.read_text().splitlines()] == [
        1767323045.678901]
    refused = run_arena("export", "votes", "--out", str(out), "--since", "2026-01-02T25:00",
                        cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert "--since" in refused.stderr and "2026-01-02T25:00" in refused.stderr


def test_malformed_file_through_the_command_imports_nothing(arena: Arena,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    good = {"model_a": "x", "model_b": "y", "winner": "tie", "tstamp": 1700000000}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "winner": "draw"}) + "\n")
    result = run_arena("import", "votes", str(path), cwd=tmp_path,
                       env=arena_env(arena.settings.database_url))
    assert result.returncode == 1
    assert f"{path}:2: unknown winner 'draw'" in result.stderr
    assert "nothing imported" in result.stderr
    path.write_text(json.dumps(good) + "\n"
                    + json.dumps({**good, "conversation_a": [{"role": "user",
                                                              "content": "\ud800"}]}) + "\n")
    surrogate = run_arena("import", "votes", str(path), cwd=tmp_path,
                          env=arena_env(arena.settings.database_url))
    assert surrogate.returncode == 1
    assert f"{path}:2: field 'conversation_a'" in surrogate.stderr
    assert "'\\ud800'" in surrogate.stderr and "nothing imported" in surrogate.stderr
    missing = run_arena("import", "votes", str(tmp_path / "nope.csv"), cwd=tmp_path,
                        env=arena_env(arena.settings.database_url))
    assert missing.returncode == 1 and "no such file" in missing.stderr
