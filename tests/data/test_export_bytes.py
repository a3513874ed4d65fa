"""The batch writers write, byte for byte, what ``json.dumps`` record by record wrote,
and SQLite and PostgreSQL give the same file for the same votes."""

from __future__ import annotations

import csv
import io
import json
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from arena.config import load_settings
from arena.context import Arena
from arena.formats.vote_columns import (
    _STANDARD_CONVERSATION,
    conversation_texts,
    json_scalars,
)
from arena.formats.votes import FORMATS
from arena.models import Battle, Vote
from arena.services.export import (
    ExportFilters,
    ExportOptions,
    export_chunks,
    iter_record_batches,
    write_votes,
)
from tests.utils.postgres import fresh_postgres_database

SALT = "bytes-test-salt"
EVERYTHING = ExportFilters(include_flagged=True, include_suspicious=True, include_too_fast=True,
                           include_seen_named=True)
TRICKY = "é 😀 \u2028 \x01\x1f\x7f \"quoted\" back\\slash\ttab\nline {\"a\": 1.5, \"b\": [1]}"
DEFAULT = ExportOptions()
START = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def conversation(k: int, *, content: Any = None) -> list[dict[str, Any]]:
    prompt = f"prompt {k}: {TRICKY}" if k % 2 else f"plain prompt {k}"
    return [{"role": "user", "content": prompt},
            {"role": "assistant", "content": f"answer {k}" if content is None else content}]


def battles(*, odd: bool = True) -> Iterator[tuple[Battle, Vote]]:
    """Votes with what an export must write exactly: every escape, floats that repr and
    other encoders write differently, odd conversations, live prompts, an imported judge.
    *odd*: one conversation holds a number (JSON and CSV write it; Parquet cannot)."""
    for k in range(23):
        mode = ("answers", "live", "import")[k % 3]
        conv_b: list[Any] = conversation(k)
        if k == 4 and odd:
            conv_b = conversation(k, content=1e-05)  # not a string: the slow path
        if k == 5:
            conv_b = []
        if k == 7:
            conv_b = [{"role": "assistant", "content": TRICKY, "extra": [1, {"x": None}]}]
        stats = None
        if mode == "live":
            stats = {"a": [{"ttft_ms": 1e-05, "latency_ms": 1e16, "error": TRICKY}],
                     "b": [{"ttft_ms": 0.1 + k, "latency_ms": 2.0**53, "error": None}]}
        battle = Battle(
            id=f"b{k:031d}", anony=k % 4 != 0, mode=mode, model_a=f"model-{k % 3}",
            model_b=f"model-{k % 3 + 1}", answer_set=None if k % 5 == 0 else "set ü",
            question_id=None if k % 6 == 0 else f"q{k}", category="chat" if k % 2 else None,
            language="en", conversation_a=conversation(k), conversation_b=conv_b,
            status="voted",
            voter_id=("arena_user_" + f"{k:032x}") if mode == "import" else f"voter {k % 4}",
            identity_leak=k == 8, flagged=k == 9, stats=stats,
            source="dataset" if mode == "import" else None, source_id=f"s{k}",
        )
        winner = ("model_a", "model_b", "tie", "tie (bothbad)")[k % 4]
        vote = Vote(battle_id=battle.id, winner=winner,
                    created_at=START + timedelta(seconds=k * 3600.123457), too_fast=k == 10,
                    suspicious=k == 11, seen_named=k == 12)
        yield battle, vote


def fill(arena: Arena, *, odd: bool = True) -> None:
    with arena.session() as session:
        for battle, vote in battles(odd=odd):
            session.add(battle)
            session.flush()
            session.add(vote)
        session.commit()


def open_arena(url: str, *, odd: bool = True) -> Arena:
    arena = Arena.open(load_settings(database_url=url, secret_salt=SALT,
                                     battle={"load_demo": False}), migrate=True)
    fill(arena, odd=odd)
    return arena


def export(arena: Arena, fmt: str, options: ExportOptions = DEFAULT, batch_size: int = 5,
           filters: ExportFilters = EVERYTHING) -> bytes:
    buffer = io.BytesIO()
    with arena.session() as session:
        write_votes(session, buffer, salt=SALT, fmt=fmt, filters=filters, options=options,
                    batch_size=batch_size)
    return buffer.getvalue()


def reference(arena: Arena, fmt: str, options: ExportOptions = DEFAULT,
              filters: ExportFilters = EVERYTHING) -> bytes:
    """The file as the record-at-a-time writers wrote it (json.dumps, csv.writer)."""
    with arena.session() as session:
        records = [r for batch in iter_record_batches(session, salt=SALT, filters=filters,
                                                      options=options) for r in batch]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        fields = list(records[0])
        writer.writerow(fields)
        for record in records:
            writer.writerow([_csv_cell(record[f]) for f in fields])
        return buffer.getvalue().encode()
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    if fmt == "jsonl":
        return ("\n".join(lines) + "\n").encode()
    return ("[\n" + ",\n".join(lines) + "\n]\n").encode()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


@pytest.fixture
def tricky(database_url: str) -> Iterator[Arena]:
    arena = open_arena(database_url)
    yield arena
    arena.close()


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
@pytest.mark.parametrize("options", [ExportOptions(), ExportOptions(drop_live_prompts=True),
                                     ExportOptions(include_conversations=False)])
def test_batches_write_what_json_dumps_wrote(tricky: Arena, fmt: str,
                                             options: ExportOptions) -> None:
    written = export(tricky, fmt, options)
    assert written == reference(tricky, fmt, options)
    assert written == export(tricky, fmt, options, batch_size=10_000)  # batching is invisible
    default = export(tricky, fmt, options, filters=ExportFilters())
    assert default == reference(tricky, fmt, options, filters=ExportFilters())
    assert len(default) < len(written)


@pytest.mark.parametrize("filters", [EVERYTHING, ExportFilters()])
def test_records_hold_the_stored_values(tricky: Arena, filters: ExportFilters) -> None:
    with tricky.session() as session:
        records = [r for batch in iter_record_batches(session, salt=SALT, filters=filters,
                                                      batch_size=4) for r in batch]
        without = [r for batch in iter_record_batches(
            session, salt=SALT, filters=filters,
            options=ExportOptions(include_conversations=False)) for r in batch]
    stored = {battle.id: (battle, vote) for battle, vote in battles()}
    kept = {k for k, (battle, vote) in stored.items() if filters is EVERYTHING or not (
        battle.flagged or battle.identity_leak or vote.too_fast or vote.suspicious
        or vote.seen_named)}
    assert [r["battle_id"] for r in records] == sorted(kept)  # in vote order
    for record, short in zip(records, without, strict=True):
        battle, vote = stored[record["battle_id"]]
        assert record["conversation_a"] == battle.conversation_a
        assert record["conversation_b"] == battle.conversation_b
        assert record["stats"] == battle.stats
        assert record["tstamp"] == vote.created_at.timestamp()
        assert record["turn"] == ((len(battle.conversation_a) + 1) // 2 or None)
        assert (record["suspicious"], record["too_fast"], record["flagged"]) == (
            vote.suspicious, vote.too_fast, battle.flagged)
        if battle.mode == "import":
            assert record["judge"] == battle.voter_id
        else:
            assert record["judge"].startswith("arena_user_") and "voter" not in record["judge"]
        assert short == {k: v for k, v in record.items() if not k.startswith("conversation")}


def test_times_are_read_as_sqlalchemy_reads_them(tmp_path: Path) -> None:
    """SQLite keeps times as text: one written elsewhere, with an offset or without a
    fraction, is exported as SQLAlchemy reads it."""
    arena = open_arena(f"sqlite:///{tmp_path / 'times.db'}")
    try:
        with arena.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE vote SET created_at = '2026-01-02 05:04:05+02:00'"
                                       " WHERE battle_id = ?", (f"b{1:031d}",))
            connection.exec_driver_sql("UPDATE vote SET created_at = '2026-01-02 03:04:06'"
                                       " WHERE battle_id = ?", (f"b{2:031d}",))
        with arena.session() as session:
            records = {r["battle_id"]: r for batch in iter_record_batches(
                session, salt=SALT, filters=EVERYTHING) for r in batch}
            votes = {v.battle_id: v for v in session.exec(select(Vote))}
    finally:
        arena.close()
    assert records[f"b{1:031d}"]["tstamp"] == 1767323045.0
    assert records[f"b{2:031d}"]["tstamp"] == 1767323046.0
    for battle_id, record in records.items():
        moment = votes[battle_id].created_at
        expected = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        assert record["tstamp"] == expected


def test_sqlite_and_postgresql_write_the_same_files(tmp_path: Path) -> None:
    with fresh_postgres_database() as postgres_url:
        sqlite = open_arena(f"sqlite:///{tmp_path / 'a.db'}", odd=False)
        postgres = open_arena(postgres_url, odd=False)
        try:
            for fmt in FORMATS:
                for options in (ExportOptions(), ExportOptions(drop_live_prompts=True)):
                    first, second = export(sqlite, fmt, options), export(postgres, fmt, options)
                    if fmt == "parquet":
                        import pyarrow.parquet as pq

                        first_table = pq.read_table(io.BytesIO(first))
                        assert first_table.num_rows == 23
                        assert first_table.equals(pq.read_table(io.BytesIO(second)))
                    else:
                        assert first == second, fmt
        finally:
            sqlite.close()
            postgres.close()


def test_scalars_are_escaped_as_the_standard_library_does() -> None:
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    values = [every, "", None, True, False, 0, -7, 2**62, "x,\n  y"]
    assert json_scalars(values) == [json.dumps(v, ensure_ascii=False).encode() for v in values]


def test_conversations_are_written_as_the_standard_library_does() -> None:
    values: list[Any] = [
        [], [{}], [{"role": "user", "content": TRICKY}], [{"a": [1, {"b": []}], "c": {}}],
        {"not": "a list"}, "text", 5, None, [[1, [2.5, [1e-05]]]], ["a", "b"],
        [{"role": "user", "content": "\\\",\n  [x"}], [{"role": "user", "content": 1e16}],
    ]
    texts = ([json.dumps(v) for v in values] + [json.dumps(v, indent=3) for v in values]
             + [json.dumps(v, separators=(",", ":"), ensure_ascii=False) for v in values]
             + [json.dumps(v, ensure_ascii=False) for v in values])
    expected = [json.dumps(json.loads(t), ensure_ascii=False).encode() for t in texts]
    assert conversation_texts(texts) == expected
    assert conversation_texts(["[1e999]", "[]"]) == [b"[Infinity]", b"[]"]

    def blank(conversation: Any) -> Any:
        return [{"role": m["role"], "content": ""} for m in conversation]

    rows = [isinstance(v, list) and all(isinstance(m, dict) and "role" in m for m in v)
            for v in values] * 4
    changed = [json.dumps(blank(json.loads(t)) if row else json.loads(t),
                          ensure_ascii=False).encode() for t, row in zip(texts, rows, strict=True)]
    assert conversation_texts(texts, change=blank, rows=rows) == changed


def test_only_standard_text_is_copied_as_it_is() -> None:
    every = "".join(chr(c) for c in range(0x2100) if not 0xD800 <= c < 0xE000) + "😀"
    conversation = [{"role": "user", "content": every}, {"role": "assistant", "content": ""}]
    standard = json.dumps(conversation, ensure_ascii=False)
    assert _STANDARD_CONVERSATION.fullmatch(standard)
    assert _STANDARD_CONVERSATION.fullmatch("[]")
    assert _STANDARD_CONVERSATION.fullmatch(json.dumps(conversation[1:]))
    for other in [
        json.dumps(conversation),  # non-ASCII escaped
        standard.replace("/", "\\/"),  # an escape json.dumps does not write
        json.dumps([{"role": "user", "content": "\x1f"}]).replace("1f", "1F"),
        json.dumps([{"role": "user", "content": "a"}]).replace("a", "\\u0061"),
        json.dumps([{"role": "user", "content": "\b"}]).replace("\\b", "\\u0008"),
        json.dumps(conversation, ensure_ascii=False, separators=(",", ": ")),
        json.dumps(conversation, ensure_ascii=False, indent=1),
        json.dumps([{"content": "a", "role": "user"}]),  # json.dumps keeps this order
        '[{"role": "user", "content": "a", "role": "assistant"}]',  # a repeated key
        '[{"role": "user", "content": "a"}] ',
        '[{"role": "user", "content": "a\nb"}]',  # a raw control character
    ]:
        assert not _STANDARD_CONVERSATION.fullmatch(other), other


def test_a_stopped_export_stops_its_reader(tricky: Arena) -> None:
    """PostgreSQL rows are read a batch ahead by a thread: an export left unfinished (an
    HTTP client gone) ends it, and the session is usable again."""
    with tricky.session() as session:
        chunks = export_chunks(session, salt=SALT, fmt="jsonl", filters=EVERYTHING,
                               batch_size=2)
        first = next(chunks)
        chunks.close()
        assert first.count(b"\n") == 2
        assert not [t for t in threading.enumerate() if t.name == "arena-export-reader"]
        assert session.exec(select(func.count()).select_from(Vote)).one() == 23


def test_an_error_while_reading_is_raised_by_the_export(tricky: Arena,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import arena.services.export as export_module

    def broken(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from ()
        raise RuntimeError("the database went away")

    monkeypatch.setattr(export_module, "_postgres_batches", broken)
    monkeypatch.setattr(export_module, "_sqlite_batches", broken)
    with pytest.raises(RuntimeError, match="went away"):
        export(tricky, "jsonl")
    assert not [t for t in threading.enumerate() if t.name == "arena-export-reader"]
