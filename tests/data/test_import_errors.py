"""Malformed files import nothing and name the line; other layouts import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import func, select

from arena.context import Arena
from arena.formats.jsonl import FormatError
from arena.models import ArenaModel, Battle, Vote
from arena.services.vote_import import UnstorableVote
from tests.data.helpers import export_to, import_from, read_records


def vote(k: int, **changes: object) -> dict:
    record = {"question_id": f"q{k}", "model_a": "m-one", "model_b": f"m-new-{k % 3}",
              "winner": "model_a", "judge": f"arena_user_10.0.0.{k}", "anony": True,
              "tstamp": 1700000000.5 + k}
    record.update(changes)
    return record


def write_records(path: Path, records: list[dict], csv_keys: tuple[str, ...]) -> int:
    """*records* as JSONL, or as CSV of *csv_keys* (by *path*'s suffix); returns the
    line the eighth record is on."""
    if path.suffix == ".jsonl":
        path.write_text("\n".join(map(json.dumps, records)) + "\n")
        return 8
    path.write_text(",".join(csv_keys) + "\n"
                    + "".join(",".join(str(r[k]) for k in csv_keys) + "\n" for r in records))
    return 9  # after the header


def stored(arena: Arena) -> tuple[int, int, int]:
    with arena.session() as session:
        return tuple(session.exec(select(func.count()).select_from(table)).one()
                     for table in (Battle, Vote, ArenaModel))  # type: ignore[return-value]


def test_bad_json_on_a_line_imports_nothing(arena: Arena, tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    lines = [json.dumps(vote(k)) for k in range(1, 13)]
    lines[10] = lines[10][:-3]  # line 11
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"votes\.jsonl:11: invalid JSON"):
        import_from(arena, path)
    assert stored(arena) == (0, 0, 0)


def test_bad_winner_in_a_json_array_names_its_line(arena: Arena, tmp_path: Path) -> None:
    path = tmp_path / "votes.json"
    records = [vote(k) for k in range(1, 13)]
    records[7]["winner"] = "model_c"
    path.write_text(json.dumps(records, indent=2))  # record 8 starts on line 2 + 7 * 9
    with pytest.raises(FormatError, match=r"votes\.json:65: unknown winner 'model_c'"):
        import_from(arena, path)
    assert stored(arena) == (0, 0, 0)


@pytest.mark.parametrize(("fmt", "field", "value"), [
    ("jsonl", "conversation_a", [{"role": "user", "content": "half a pair: \ud800!"}]),
    ("json", "conversation_b", [{"role": "assistant", "content": "\udfff"}]),
    ("jsonl", "judge", "arena_user_\ud83d"),
    ("jsonl", "category", "coding \udc00"),
])
def test_lone_surrogate_names_its_line_and_imports_nothing(
        arena: Arena, tmp_path: Path, fmt: str, field: str, value: object) -> None:
    """JSON may escape half a surrogate pair; UTF-8 cannot store it. Record 8 is in the
    second batch of five (written to the database when the error is found)."""
    records = [vote(k, conversation_a=[{"role": "user", "content": "\U0001F600 ok"}])
               for k in range(1, 13)]
    records[7][field] = value
    path = tmp_path / f"votes.{fmt}"
    if fmt == "jsonl":
        path.write_text("\n".join(map(json.dumps, records)) + "\n")
        line = 8
    else:
        path.write_text("[\n" + ",\n".join(map(json.dumps, records)) + "\n]\n")
        line = 9
    with pytest.raises(UnstorableVote, match=rf"^line {line}: .*'\\u[0-9a-f]{{4}}'.*UTF-8"):
        import_from(arena, path)
    assert stored(arena) == (0, 0, 0)


@pytest.mark.parametrize(("fmt", "field"), [
    ("jsonl", "model_b"), ("jsonl", "question_id"), ("jsonl", "battle_id"), ("csv", "model_a"),
])
def test_nul_in_a_name_names_its_line_and_imports_nothing(
        arena: Arena, tmp_path: Path, fmt: str, field: str) -> None:
    """PostgreSQL's text columns refuse NUL: refused on both databases, with the line,
    not a database error after half the file (as a NUL inside a conversation's JSON,
    which is stored escaped)."""
    records = [vote(k, battle_id=f"b{k}") for k in range(1, 13)]
    records[7][field] = "x\x00y"
    path = tmp_path / f"votes.{fmt}"
    line = write_records(path, records, ("battle_id", "model_a", "model_b", "winner"))
    with pytest.raises(FormatError, match=rf"votes\.{fmt}:{line}: field '{field}' holds a NUL"):
        import_from(arena, path)
    assert stored(arena) == (0, 0, 0)


def test_nul_inside_a_conversation_is_stored_and_exported(arena: Arena,
                                                          tmp_path: Path) -> None:
    content = "before\x00after"
    path = tmp_path / "votes.jsonl"
    path.write_text(json.dumps(vote(1, conversation_a=[{"role": "user", "content": content}]))
                    + "\n")
    assert import_from(arena, path).imported == 1
    out = tmp_path / "out.jsonl"
    export_to(arena, out, "jsonl")
    assert read_records(out)[0]["conversation_a"] == [{"role": "user", "content": content}]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_timestamp_no_date_can_hold_names_its_line(arena: Arena, tmp_path: Path,
                                                     fmt: str) -> None:
    """Milliseconds (a usual mistake) put the vote in the year 55,000: refused with a
    hint, not a traceback from the middle of the import."""
    records = [vote(k) for k in range(1, 13)]
    records[7]["tstamp"] = 1_700_000_000_500.0
    path = tmp_path / f"votes.{fmt}"
    line = write_records(path, records, ("model_a", "model_b", "winner", "tstamp"))
    with pytest.raises(FormatError, match=rf"votes\.{fmt}:{line}: field 'tstamp' must be unix "
                                          r"seconds of the years 1-9999, .*\(milliseconds\?\)"):
        import_from(arena, path)
    assert stored(arena) == (0, 0, 0)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "[1, -Infinity]", "1e400"])
def test_nan_or_infinity_in_stats_names_its_line(arena: Arena, tmp_path: Path,
                                                 value: str) -> None:
    """Python's json reads them; JSON does not allow them (PostgreSQL refused the batch
    mid-import, SQLite stored them and the export wrote non-standard JSON)."""
    lines = [json.dumps(vote(k)) for k in range(1, 13)]
    lines[7] = lines[7][:-1] + f', "stats": {{"latency": {value}}}}}'
    path = tmp_path / "votes.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"votes\.jsonl:8: field 'stats' holds NaN or Infinity"):
        import_from(arena, path)
    assert stored(arena) == (0, 0, 0)


def test_the_first_and_last_second_a_date_holds_are_stored(arena: Arena,
                                                           tmp_path: Path) -> None:
    first, last = -62135596800.0, 253402300799.0  # 0001-01-01, 9999-12-31 23:59:59 UTC
    path = tmp_path / "votes.jsonl"
    path.write_text(json.dumps(vote(1, tstamp=first)) + "\n"
                    + json.dumps(vote(2, tstamp=last)) + "\n")
    assert import_from(arena, path).imported == 2
    out = tmp_path / "out.jsonl"
    export_to(arena, out, "jsonl")
    assert sorted(r["tstamp"] for r in read_records(out)) == [first, last]


@pytest.mark.parametrize(("row", "message"), [
    ("m-x,m-y,,", "exactly one of winner_model_a"),
    ("m-x,m-y,1,1", "exactly one of winner_model_a"),
    ("m-x,m-y,yes,0", "'winner_model_a' must be 0 or 1"),
    (",m-y,1,0", "missing field 'model_a'"),
])
def test_bad_csv_row_names_its_line(arena: Arena, tmp_path: Path, row: str,
                                    message: str) -> None:
    path = tmp_path / "prefs.csv"
    good = "m-x,m-y,0,1"
    path.write_text("model_a,model_b,winner_model_a,winner_model_b\n"
                    + f"{good}\n{good}\n{row}\n{good}\n")
    with pytest.raises(FormatError, match=rf"prefs\.csv:4: .*{message}"):
        import_from(arena, path)
    assert stored(arena) == (0, 0, 0)


def test_arena_human_preference_layout(arena: Arena, tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text(
        "id,model_a,model_b,prompt,response_a,response_b,winner_model_a,winner_model_b,"
        "winner_tie\n"
        '30192,gpt-4-1106-preview,gpt-4-0613,"[""Is it morally right?"", ""Why?""]",'
        '"[""Yes."", ""Because.""]","[""No."", null]",1,0,0\n'
        '53567,koala-13b,gpt-4-0613,"[""hi""]","[""hello""]","[""hey""]",0,1,0\n'
        '65089,gpt-3.5-turbo-0613,mistral-medium,"[""q""]","[""a""]","[""b""]",0,0,1\n'
    )
    summary = import_from(arena, path, source="arena-human-preference-55k")
    assert (summary.imported, len(summary.models)) == (3, 5)
    out = tmp_path / "out.jsonl"
    export_to(arena, out, "jsonl")
    records = read_records(out)
    assert [r["winner"] for r in records] == ["model_a", "model_b", "tie"]
    assert records[0]["turn"] == 2
    assert records[0]["conversation_b"] == [
        {"role": "user", "content": "Is it morally right?"},
        {"role": "assistant", "content": "No."},
        {"role": "user", "content": "Why?"}, {"role": "assistant", "content": ""}]
    with arena.session() as session:
        ids = set(session.exec(select(Battle.source_id)))
    assert ids == {"30192", "53567", "65089"}


def test_records_without_ids_are_deduplicated_by_content(arena: Arena, tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    records = [vote(k) for k in range(1, 6)] + [vote(1)]  # the last repeats the first
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    first = import_from(arena, path)
    assert (first.imported, first.duplicates) == (6, 0)  # a repeat in one file is kept
    again = import_from(arena, path)
    assert (again.imported, again.duplicates) == (0, 6)
    path.write_text("".join(json.dumps(r) + "\n" for r in [*records, vote(9)]))
    grown = import_from(arena, path)
    assert (grown.imported, grown.duplicates) == (1, 6)


def test_bad_json_deep_in_a_json_array_imports_nothing(arena: Arena, tmp_path: Path) -> None:
    path = tmp_path / "votes.json"
    text = json.dumps([vote(k) for k in range(1, 3001)], indent=2)  # 9 lines a record
    lines = text.split("\n")
    winner_line = 2 + 2500 * 9 + 4  # record 2501 starts on line 2 + 2500 * 9
    assert lines[winner_line - 1] == '    "winner": "model_a",'
    lines[winner_line - 1] = '    "winner": model_a,'
    path.write_text("\n".join(lines))
    with pytest.raises(FormatError, match=rf"votes\.json:{winner_line}: invalid JSON"):
        import_from(arena, path)
    assert stored(arena) == (0, 0, 0)
