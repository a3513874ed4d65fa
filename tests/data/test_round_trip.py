"""Every format: export -> import into an empty database -> export gives the same records."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlmodel import select

from arena import services
from arena.context import Arena
from arena.formats.votes import EXPORT_FIELDS, FORMATS
from arena.models import Battle
from ratings import compute_leaderboard
from tests.data.helpers import EVERYTHING, export_to, import_from, read_records

SEEDED_VOTES = 25
CHANGED_BY_IMPORT = {"battle_id", "mode", "source"}  # every other field survives the trip


def kept(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in CHANGED_BY_IMPORT} for r in records]


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_gives_the_same_records(seeded: Arena, empty_arena: Arena, tmp_path: Path,
                                           fmt: str) -> None:
    first = tmp_path / f"first.{fmt}"
    assert export_to(seeded, first, fmt) == SEEDED_VOTES
    summary = import_from(empty_arena, first, source="seeded")
    assert (summary.imported, summary.duplicates) == (SEEDED_VOTES, 0)
    second = tmp_path / f"second.{fmt}"
    assert export_to(empty_arena, second, fmt) == SEEDED_VOTES
    before, after = read_records(first, fmt), read_records(second, fmt)
    assert list(before[0]) == list(EXPORT_FIELDS)
    assert kept(after) == kept(before)
    # local fields: new ids, marked as imported from the named source
    assert all(a["battle_id"] != b["battle_id"] for a, b in zip(after, before, strict=True))
    assert {r["mode"] for r in after} == {"import"}
    assert {r["source"] for r in after} == {"seeded"}


def test_imported_battles_are_marked_and_keep_the_vote_time(seeded: Arena, empty_arena: Arena,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    export_to(seeded, path, "jsonl")
    original = {r["battle_id"]: r for r in read_records(path)}
    import_from(empty_arena, path, source="seeded")
    with empty_arena.session() as session:
        battles = session.exec(select(Battle)).all()
    assert {b.source_id for b in battles} == set(original)
    assert {(b.mode, b.status, b.source) for b in battles} == {("import", "voted", "seeded")}
    live = next(b for b in battles if b.source_id.startswith("live"))
    assert live.stats == original[live.source_id]["stats"]
    assert live.created_at.replace(tzinfo=None).isoformat() == "2026-01-02T03:04:05.678901"


def test_reimport_skips_duplicates_with_a_count(seeded: Arena, empty_arena: Arena,
                                                tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    export_to(seeded, path, "csv")
    assert import_from(empty_arena, path).imported == SEEDED_VOTES
    again = import_from(empty_arena, path)
    assert (again.imported, again.duplicates) == (0, SEEDED_VOTES)
    other_source = import_from(empty_arena, path, source="another-name")
    assert other_source.imported == SEEDED_VOTES


def test_exported_files_load_with_standard_readers(seeded: Arena, tmp_path: Path) -> None:
    for fmt in FORMATS:
        export_to(seeded, tmp_path / f"votes.{fmt}", fmt)
    with (tmp_path / "votes.jsonl").open(encoding="utf-8") as handle:  # datasets-style
        lines = [json.loads(line) for line in handle]
    assert len(lines) == SEEDED_VOTES and lines[-1]["stats"]["a"][0]["latency_ms"] == 1250.0
    assert json.loads((tmp_path / "votes.json").read_text()) == lines
    with (tmp_path / "votes.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["winner"] for r in rows] == [r["winner"] for r in lines]
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "votes.parquet")
    assert table.num_rows == SEEDED_VOTES and table.column_names == list(EXPORT_FIELDS)
    assert str(table.schema.field("conversation_a").type) == (
        "list<element: struct<role: string, content: string>>")
    parquet_rows = table.to_pylist()
    assert [r["conversation_b"] for r in parquet_rows] == [r["conversation_b"] for r in lines]
    assert [r["tstamp"] for r in parquet_rows] == [r["tstamp"] for r in lines]
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_parquet(tmp_path / "votes.parquet")
    assert len(frame) == SEEDED_VOTES and frame["anony"].dtype == bool
    assert len(pandas.read_csv(tmp_path / "votes.csv")) == SEEDED_VOTES


def test_ratings_of_an_export_match_the_live_leaderboard(seeded: Arena, tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    export_to(seeded, path, "jsonl", filters=EVERYTHING)
    board = compute_leaderboard(read_records(path), l2=0.1)
    with seeded.session() as session:
        live = {s.model: s for s in services.model_stats(session) if s.votes}
    assert {r.model for r in board.rows} == set(live)
    for row in board.rows:
        assert row.votes == live[row.model].votes
        assert row.win_rate == pytest.approx(live[row.model].win_rate, abs=1e-12)
