"""Bulk import (COPY on PostgreSQL, executemany on SQLite): the rows an ORM insert would
store, all or nothing across batches, a concurrent import reported as a conflict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Text, cast
from sqlmodel import func, select

from arena.context import Arena
from arena.formats.jsonl import FormatError
from arena.formats.votes import VoteRecord, iter_votes
from arena.models import ArenaModel, Battle, Vote
from arena.services.errors import Conflict
from arena.services.vote_import import import_votes

UNICODE = "é 😀 \u2028 \x01 \"q\" \\"


def record(k: int, **changes: object) -> dict:
    value = {"battle_id": f"id-{k}", "model_a": f"m-{k % 5}", "model_b": f"m-{k % 5 + 1}",
             "winner": ("model_a", "model_b", "tie", "tie (bothbad)")[k % 4],
             "judge": f"arena_user_10.0.{k // 256}.{k % 256}", "anony": k % 3 != 0,
             "tstamp": 1700000000.123456 + k, "question_id": f"q{k}", "language": "en",
             "conversation_a": [{"role": "user", "content": f"prompt {k} {UNICODE}"},
                                {"role": "assistant", "content": "a"}],
             "conversation_b": [{"role": "user", "content": f"prompt {k} {UNICODE}"},
                                {"role": "assistant", "content": "b"}]}
    value.update(changes)
    return value


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def stored(arena: Arena) -> tuple[int, int, int]:
    with arena.session() as session:
        return tuple(session.exec(select(func.count()).select_from(table)).one()
                     for table in (Battle, Vote, ArenaModel))  # type: ignore[return-value]


def store(arena: Arena, path: Path, *, source: str = "bulk", batch_size: int = 1_000,
          votes: Iterator[tuple[int, VoteRecord]] | None = None) -> int:
    salt = arena.salt
    with arena.session() as session:
        return import_votes(session, iter_votes(path) if votes is None else votes,
                            source=source, salt=salt, batch_size=batch_size).imported


def test_a_bad_row_after_many_batches_names_its_line_and_stores_nothing(
        arena: Arena, tmp_path: Path) -> None:
    records = [record(k) for k in range(1, 5_001)]
    records[4_321]["winner"] = "model_c"  # line 4322, after four batches were written
    path = write(tmp_path / "votes.jsonl", records)
    with pytest.raises(FormatError, match=r"votes\.jsonl:4322: unknown winner 'model_c'"):
        store(arena, path)
    assert stored(arena) == (0, 0, 0)
    records[4_321]["winner"] = "tie"
    assert store(arena, write(path, records)) == 5_000
    assert stored(arena) == (5_000, 5_000, 6)


def test_rows_are_those_an_orm_insert_stores(arena: Arena, tmp_path: Path) -> None:
    stats = {"a": [{"ttft_ms": 1e-05, "latency_ms": 1250.5, "error": None}], "b": []}
    path = write(tmp_path / "votes.jsonl", [
        record(1, stats=stats, identity_leak=True, too_fast=True, category="chat",
               answer_set="set"),
        record(2, judge="arena_user_" + "ab" * 16, suspicious=True, seen_named=True),
        # What COPY's text format must escape, in plain text columns.
        record(3, category="tab\tnewline\ncr\rbackslash\\N end\\", question_id="\\N"),
    ])
    assert store(arena, path, source="rows") == 3
    with arena.session() as session:
        battles = {b.source_id: b for b in session.exec(select(Battle))}
        votes = {v.battle_id: v for v in session.exec(select(Vote))}
    first, second = battles["id-1"], battles["id-2"]
    assert (first.mode, first.status, first.source, first.anony) == ("import", "voted", "rows",
                                                                     True)
    assert first.conversation_a == record(1)["conversation_a"]
    assert first.stats == stats and second.stats is None
    assert (first.identity_leak, first.flagged, first.copilot_before_vote) == (True, False, False)
    assert (first.category, first.answer_set, second.category) == ("chat", "set", None)
    third = battles["id-3"]
    assert (third.category, third.question_id) == (
        "tab\tnewline\ncr\rbackslash\\N end\\", "\\N")
    assert first.ip_hash is None and first.question_pk is None
    assert second.voter_id == "arena_user_" + "ab" * 16  # a pseudonym is kept
    assert first.voter_id.startswith("arena_user_") and "10.0" not in first.voter_id
    vote = votes[first.id]
    assert (vote.winner, vote.too_fast, vote.suspicious, vote.seen_named) == (
        "model_b", True, False, False)
    assert votes[second.id].suspicious and votes[second.id].seen_named
    expected = datetime.fromtimestamp(1700000001.123456, UTC)
    assert vote.created_at.replace(tzinfo=UTC) == expected == first.created_at.replace(
        tzinfo=UTC)
    with arena.engine.connect() as connection:  # JSON as json.dumps writes it: the form
        stored = connection.execute(  # an export copies without parsing it again
            select(cast(Battle.conversation_a, Text), cast(Battle.stats, Text))
            .where(Battle.id == first.id)).one()
    assert stored == (json.dumps(first.conversation_a, ensure_ascii=False),
                      json.dumps(stats, ensure_ascii=False))


def test_votes_stored_meanwhile_are_a_conflict(arena: Arena, tmp_path: Path) -> None:
    if arena.engine.dialect.name == "sqlite":
        pytest.skip("SQLite: an import holds the write lock, so none runs meanwhile")
    path = write(tmp_path / "votes.jsonl", [record(k) for k in range(1, 30)])
    other = write(tmp_path / "other.jsonl", [record(20, model_a="x-1", model_b="x-2")])

    def votes() -> Iterator[tuple[int, VoteRecord]]:
        for line, vote in iter_votes(path):
            if line == 10:  # another import stores id-20 and commits
                assert store(arena, other, source="race") == 1
            yield line, vote

    with pytest.raises(Conflict, match="imported concurrently"):
        store(arena, path, source="race", batch_size=7, votes=votes())
    assert stored(arena)[:2] == (1, 1)
