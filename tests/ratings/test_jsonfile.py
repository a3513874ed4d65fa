"""The streaming line-numbered JSON / JSONL reader."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ratings import RatingsInputError, jsonfile
from ratings.jsonfile import iter_json_array, iter_json_file

VALUES = [
    {"model_a": "x", "model_b": "y", "winner": "tie", "n": -12.5e-3, "big": 123456789},
    [1, 2, [3, {"k": None}]],
    "caf\u00e9 \U0001f600 \\ \" \n",
    -1234567890123,
    True,
    float("-inf"),
    {},
]


class CountingReader:
    """A text stream that records how many characters were handed out."""

    def __init__(self, text: str) -> None:
        self._stream = io.StringIO(text)
        self.total = len(text)
        self.read_chars = 0

    def read(self, size: int = -1, /) -> str:
        chunk = self._stream.read(size)
        self.read_chars += len(chunk)
        return chunk


def test_records_and_start_lines_of_an_array_and_of_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    # element k starts on line k + 2: the "[" line and a blank line come first
    path.write_text("[\n\n" + ",\n".join(json.dumps(v) for v in VALUES) + "\n]\n")
    assert list(iter_json_file(path)) == [(k + 3, v) for k, v in enumerate(VALUES)]
    path = tmp_path / "v.jsonl"
    path.write_text("\n".join(json.dumps(v) for v in VALUES[:3]) + "\n\n" + json.dumps(5) + "\n")
    assert list(iter_json_file(path)) == [(1, VALUES[0]), (2, VALUES[1]), (3, VALUES[2]), (5, 5)]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 13, 64])
def test_chunk_boundaries_anywhere_give_the_same_values(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonfile, "CHUNK_CHARS", chunk)
    for text in (json.dumps(VALUES, indent=1, ensure_ascii=False), json.dumps(VALUES)):
        got = [value for _, value in iter_json_array(io.StringIO(text), "s.json")]
        assert got == VALUES


@pytest.mark.parametrize("chunk", [4, 64, 1 << 16])
def test_an_error_deep_in_a_multiline_array_names_its_line(
    chunk: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(jsonfile, "CHUNK_CHARS", chunk)
    records = [{"model_a": f"m{k}", "model_b": "z", "winner": "model_a"} for k in range(40)]
    text = json.dumps(records, indent=2)  # "[" on line 1, then 5 lines per record
    lines = text.split("\n")
    # record 30 starts on line 2 + 30 * 5 = 152; its "model_b" is two lines further
    assert lines[152 - 1].strip() == "{" and '"model_b"' in lines[154 - 1]
    lines[154 - 1] = lines[154 - 1].replace('"z"', "z")
    path = tmp_path / "votes.json"
    path.write_text("\n".join(lines))
    seen = []
    with pytest.raises(RatingsInputError, match=r"votes\.json:154: invalid JSON: Expecting value"):
        for line, _ in iter_json_file(path):
            seen.append(line)
    assert seen == [2 + 5 * k for k in range(30)]


def test_a_big_array_is_read_incrementally() -> None:
    records = [{"model_a": f"m{k}", "model_b": "z", "winner": "tie"} for k in range(50_000)]
    stream = CountingReader(json.dumps(records))
    reader = iter_json_array(stream, "big.json")
    assert next(reader) == (1, records[0])
    assert stream.read_chars <= jsonfile.CHUNK_CHARS < stream.total / 10
    for k, (_, value) in enumerate(reader, start=1):
        assert value == records[k]
        if k == 20_000:
            assert stream.read_chars < stream.total / 2
    assert stream.read_chars == stream.total


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('\n\n{"a": 1}', 3, "expected a JSON array"),
        ("[\n1,\n,2]", 3, "invalid JSON: unexpected ','"),
        ("[\n1\n2]", 3, "invalid JSON: expected ',' or ']'"),
        ('[\n1,\n"x",\n', 4, "unterminated JSON array"),
        ('[\n1,\n"never closed', 3, "invalid JSON: Unterminated string"),
    ],
)
def test_array_syntax_errors(text: str, line: int, message: str) -> None:
    with pytest.raises(RatingsInputError, match=rf"^s\.json:{line}: {message}") as info:
        list(iter_json_array(io.StringIO(text), "s.json"))
    assert info.value.line == line


def test_formats_and_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text('{"a": 1}\n{"b": 2\n')
    with pytest.raises(RatingsInputError, match=r"v\.json:1: expected a JSON array"):
        list(iter_json_file(path, "json"))
    with pytest.raises(RatingsInputError, match=r"v\.json:2: invalid JSON"):
        list(iter_json_file(path))  # auto: not an array, so JSONL
    path.write_bytes("\ufeff[1, 2]".encode())  # a byte-order mark is not content
    assert list(iter_json_file(path)) == [(1, 1), (1, 2)]
    with pytest.raises(RatingsInputError, match=r"absent\.json: cannot read: No such file"):
        list(iter_json_file(tmp_path / "absent.json"))
    path.write_bytes(b'["\xff"]')
    with pytest.raises(RatingsInputError, match=r"v\.json: cannot read: .*utf-8"):
        list(iter_json_file(path))
    with pytest.raises(ValueError, match="unknown JSON format"):
        list(iter_json_file(path, "csv"))
