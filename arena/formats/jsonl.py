"""Line-numbered JSONL reading shared by every importer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class FormatError(ValueError):
    """A file cannot be imported; names the file and, when known, the line."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of *path*."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise FormatError(path, f"cannot open: {exc.strerror}") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise FormatError(path, f"invalid JSON: {exc.msg}", line=number) from exc
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
