"""Line-numbered JSON reading shared by every importer, and its error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson


class FormatError(ValueError):
    """A file cannot be imported; names the file and, when known, the line."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


def iter_json(path: Path, fmt: str = "jsonl") -> Iterator[tuple[int, Any]]:
    """Yield (line number, value) of a JSONL file or (``fmt="json"``) a JSON array.

    JSON arrays are read by ``ratings.jsonfile`` (streaming); its errors become
    FormatError. JSONL is read the way ``ratings.jsonfile.iter_json_lines`` reads it,
    with orjson (three times faster) and the standard library for any line orjson
    refuses, so values and messages are the standard library's.
    """
    if fmt == "jsonl":
        yield from _iter_json_lines(path)
        return
    # here, not at the top: an export imports this module, and `ratings` brings numpy
    from ratings.errors import RatingsInputError
    from ratings.jsonfile import iter_json_file

    try:
        yield from iter_json_file(path, fmt)
    except RatingsInputError as exc:
        raise FormatError(path, exc.message, line=exc.line) from exc


def _iter_json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError:  # NaN, huge numbers, errors: as json does
                    if not line.strip():
                        continue
                    try:
                        value = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise FormatError(path, f"invalid JSON: {exc.msg}",
                                          line=number) from exc
                yield number, value
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FormatError(path, f"cannot read: {reason}") from exc


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of *path*."""
    for number, record in iter_json(path):
        if not isinstance(record, dict):
            raise FormatError(path, "expected a JSON object", line=number)
        yield number, record


def require(record: dict[str, Any], key: str, kind: type | tuple[type, ...],
            path: Path, line: int) -> Any:
    """Return record[key], or raise FormatError naming the missing or mistyped field."""
    if key not in record:
        raise FormatError(path, f"missing field {key!r}", line=line)
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in _as_tuple(kind):
        names = " or ".join(t.__name__ for t in _as_tuple(kind))
        raise FormatError(path, f"field {key!r} must be {names}", line=line)
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
