"""An import whose file is read by a worker process (arena.services.vote_import_reader)
stores what an import read in one process stores, and fails the same way."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from arena.context import Arena
from arena.formats.jsonl import FormatError
from arena.formats.votes import FORMATS
from arena.services.vote_import import UnstorableVote
from arena.services.vote_import_reader import import_vote_file
from tests.data.helpers import export_to, read_records
from tests.data.test_import_errors import stored, vote
from tests.data.test_round_trip import SEEDED_VOTES, kept


def read_by_a_worker(arena: Arena, path: Path, *, source: str = "dataset",
                     batch_size: int = 5) -> object:
    salt = arena.salt
    with arena.session() as session:
        return import_vote_file(session, path, source=source, salt=salt,
                                batch_size=batch_size, min_bytes=0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_worker_reads_what_one_process_reads(seeded: Arena, empty_arena: Arena,
                                               tmp_path: Path, fmt: str) -> None:
    first = tmp_path / f"first.{fmt}"
    export_to(seeded, first, fmt)
    summary = read_by_a_worker(empty_arena, first, source="seeded")
    assert (summary.imported, summary.duplicates) == (SEEDED_VOTES, 0)  # type: ignore[attr-defined]
    again = read_by_a_worker(empty_arena, first, source="seeded")
    assert (again.imported, again.duplicates) == (0, SEEDED_VOTES)  # type: ignore[attr-defined]
    second = tmp_path / f"second.{fmt}"
    assert export_to(empty_arena, second, fmt) == SEEDED_VOTES
    assert kept(read_records(second, fmt)) == kept(read_records(first, fmt))
    assert not multiprocessing.active_children()


@pytest.mark.parametrize(("line", "change", "error", "message"), [
    (9, None, FormatError, r"votes\.jsonl:9: invalid JSON"),
    (8, {"winner": "draw"}, FormatError, r"votes\.jsonl:8: unknown winner 'draw'"),
    (8, {"judge": "x\udc00"}, UnstorableVote, r"^line 8: text with '\\udc00'"),
    (8, {"category": "\ud800"}, UnstorableVote, r"^line 8: field 'category'"),  # the driver's
])
def test_a_bad_line_read_by_a_worker_imports_nothing(arena: Arena, tmp_path: Path, line: int,
                                                     change: dict | None, error: type,
                                                     message: str) -> None:
    lines = [json.dumps(vote(k)) for k in range(1, 13)]
    if change is None:
        lines[line - 1] = lines[line - 1][:-3]
    else:
        lines[line - 1] = json.dumps(vote(line, **change))
    path = tmp_path / "votes.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(error, match=message):
        read_by_a_worker(arena, path)
    assert stored(arena) == (0, 0, 0)
    assert not multiprocessing.active_children()
