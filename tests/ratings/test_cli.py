"""`arena ratings` command, registered on a private Typer app."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

typer = pytest.importorskip("typer")
from typer.testing import CliRunner  # noqa: E402

from arena.cli_ratings import register  # noqa: E402

RECORDS = [
    {"model_a": "p", "model_b": "q", "winner": "model_a", "anony": True, "tstamp": 1.0},
    {"model_a": "q", "model_b": "r", "winner": "model_a", "anony": True, "tstamp": 2.0},
    {"model_a": "r", "model_b": "p", "winner": "model_a", "anony": False, "tstamp": 3.0},
    {"model_a": "p", "model_b": "q", "winner": "tie (bothbad)", "anony": True, "tstamp": 4.0},
    {"model_a": "q", "model_b": "p", "winner": "model_b", "anony": True, "tstamp": 5.0},
]
KEYS = {"model", "rating", "lower", "upper", "rank", "rank_ub", "votes", "win_rate"}


@pytest.fixture
def app():
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps `ratings` a sub-command
        pass

    return app


@pytest.fixture
def battle_file(tmp_path: Path) -> Path:
    path = tmp_path / "battles.json"
    path.write_text(json.dumps(RECORDS, indent=2))
    return path


def run(app, *args: str):
    return CliRunner().invoke(app, ["ratings", *args])


def test_json_output(app, battle_file: Path) -> None:
    res = run(app, "--input", str(battle_file), "--format", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert KEYS <= set(rows[0]) and rows[0]["model"] == "p" and rows[0]["rank"] == 1


def test_table_csv_and_options(app, battle_file: Path, tmp_path: Path) -> None:
    res = run(
        app,
        "--input",
        str(battle_file),
        "--ci",
        "bootstrap",
        "--bootstrap",
        "20",
        "--seed",
        "1",
        "--anchor",
        "q=1100",
        "--l2",
        "0.1",
        "--level",
        "0.9",
    )
    assert res.exit_code == 0, res.output
    assert "rank" in res.stdout and "bootstrap 90% intervals" in res.stdout
    res = run(
        app,
        "--input",
        str(battle_file),
        "--format",
        "csv",
        "--anony-only",
        "--ties",
        "davidson",
        "--l2",
        "0.1",
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert {r["model"] for r in rows} == {"p", "q", "r"}
    assert sum(int(r["votes"]) for r in rows) == 8
    res = run(
        app,
        "--input",
        str(battle_file),
        "--format",
        "json",
        "--since",
        "1970-01-01T00:00:02",
        "--until",
        "1970-01-01T00:00:04",
        "--bothbad",
        "drop",
        "--l2",
        "1",
        "--include-named",
    )
    assert res.exit_code == 0, res.output
    assert sum(r["votes"] for r in json.loads(res.stdout)) == 4  # tstamps 2 and 3


def test_defaults_are_the_live_boards(app, battle_file: Path) -> None:
    """Anonymous battles only, flagged votes out, FastChat's C=1 prior (finite ratings
    even where the maximum-likelihood estimate does not exist)."""
    flagged = {"model_a": "r", "model_b": "q", "winner": "model_a", "anony": True,
               "tstamp": 6.0, "too_fast": True}
    battle_file.write_text(json.dumps([*RECORDS, flagged]))
    res = run(app, "--input", str(battle_file), "--format", "json")
    assert res.exit_code == 0, res.output
    # records 1, 2, 4, 5 count: the named record 3 and the too-fast one are left out
    assert sum(r["votes"] for r in json.loads(res.stdout)) == 8
    res = run(app, "--input", str(battle_file), "--format", "json", "--include-named",
              "--include-flagged")
    assert sum(r["votes"] for r in json.loads(res.stdout)) == 12


def test_bad_input_exits_2_naming_file_and_line(app, battle_file: Path) -> None:
    bad = [*RECORDS[:2], {"model_a": "p", "model_b": "q", "winner": "draw"}]
    battle_file.write_text(json.dumps(bad, indent=2))
    res = run(app, "--input", str(battle_file))
    assert res.exit_code == 2
    assert f"{battle_file}:16: unknown winner value 'draw'" in res.stderr


def test_missing_input_and_bad_options(app, battle_file: Path, tmp_path: Path) -> None:
    res = run(app)
    assert res.exit_code == 2 and "--input" in res.stderr
    res = run(app, "--input", str(tmp_path / "absent.json"))
    assert res.exit_code == 2 and "absent.json" in res.stderr
    res = run(app, "--input", str(battle_file), "--anchor", "nonsense")
    assert res.exit_code == 2
    res = run(app, "--input", str(battle_file), "--ties", "third")
    assert res.exit_code == 2


def test_fit_error_exits_1(app, tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS[:2]) + "\n")
    res = run(app, "--input", str(path), "--l2", "0")
    assert res.exit_code == 1 and "do not exist" in res.stderr
