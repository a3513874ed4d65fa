"""The one --since/--until parser (arena.times), alone and through the CLI.

Expected instants are written out by hand: 2026-01-01T00:00:00Z is unix
1,767,225,600 (2025-01-01 = 1,735,689,600, plus 365 days of 86,400 s).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arena.cli import app
from arena.times import TimeValueError, parse_time

NEW_YEAR_2026 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-01-01", NEW_YEAR_2026),
    ("2026-01-01T02:30:00+02:30", NEW_YEAR_2026),
    ("2025-12-31T19:00:00-05:00", NEW_YEAR_2026),
    ("2026-01-01T00:00:00Z", NEW_YEAR_2026),
    ("2026-01-01T00:00:00", NEW_YEAR_2026),  # naive = UTC
    ("1767225600", NEW_YEAR_2026),
    (" 1767225600 ", NEW_YEAR_2026),
    ("1767225600.25", datetime(2026, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)),
    (1767225600, NEW_YEAR_2026),
    (1767225600.5, datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
    ("0", datetime(1970, 1, 1, tzinfo=UTC)),
    (datetime(2026, 1, 1), NEW_YEAR_2026),
    (None, None),
])
def test_iso_dates_datetimes_and_unix_seconds(value: object, expected: datetime | None) -> None:
    parsed = parse_time(value)  # type: ignore[arg-type]
    assert parsed == expected
    assert parsed is None or parsed.utcoffset() == UTC.utcoffset(None)


@pytest.mark.parametrize("value", ["yesterday", "", "2026-13-01", "1e9", "nan", "12:00",
                                   "99999999999999999999"])
def test_garbage_names_the_option_and_the_value(value: str) -> None:
    with pytest.raises(TimeValueError) as caught:
        parse_time(value, "--since")
    assert str(caught.value) == (
        f"--since: expected an ISO 8601 date/time or unix seconds, got {value!r}")


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.mark.parametrize("command", [("ratings",), ("export", "votes", "--out", "x.jsonl")])
@pytest.mark.parametrize("option", ["--since", "--until"])
def test_cli_refuses_a_bad_time_naming_the_option(tmp_path: Path, command: tuple[str, ...],
                                                  option: str) -> None:
    code, output = _invoke(*command, option, "last-tuesday", "--config",
                           str(tmp_path / "never-read.toml"))
    assert code == 2
    assert f"Invalid value for '{option}'" in output and "'last-tuesday'" in output
    assert "unix seconds" in output


def test_ratings_reads_unix_seconds_and_offsets(tmp_path: Path) -> None:
    battles = tmp_path / "battles.jsonl"
    stamps = [NEW_YEAR_2026.timestamp() + hours * 3600 for hours in range(6)]
    battles.write_text("".join(
        json.dumps({"model_a": a, "model_b": b, "winner": "model_a", "anony": True,
                    "tstamp": t}) + "\n"
        for t, (a, b) in zip(stamps, [("p", "q"), ("q", "r"), ("r", "p")] * 2, strict=True)))

    def votes(*window: str) -> int:
        code, output = _invoke("ratings", "--input", str(battles), "--format", "json",
                               "--l2", "1", *window)
        assert code == 0, output
        return sum(row["votes"] for row in json.loads(output)) // 2

    assert votes() == 6
    # hours 1, 2, 3 of 2026-01-01 UTC, said three ways
    assert votes("--since", "1767229200", "--until", "1767240000") == 3
    assert votes("--since", "2026-01-01T03:00+02:00", "--until", "2026-01-01T04:00:00") == 3
    assert votes("--since", "1767229200.0", "--until", "2026-01-01T05:00:00+01:00") == 3
