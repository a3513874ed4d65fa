"""Line-numbered records of JSONL files and of files holding one JSON array.

Both are streamed: JSONL line by line, a JSON array element by element
(``json.JSONDecoder.raw_decode`` over a buffer refilled from the file), so a
large array is never held whole, neither as text nor as a list.  Each record
comes with the 1-based line on which it starts; every error is a
:class:`~ratings.errors.RatingsInputError` naming the file and the line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from ratings.errors import RatingsInputError

JSON_FORMATS = ("auto", "json", "jsonl")
CHUNK_CHARS = 1 << 16
# A decoding error this close to the end of the buffer may only mean that the
# value continues past it (a cut keyword, number or escape such as -Infinity).
_CUT_MARGIN = 16
_SPACE = " \t\r\n"
_SPACES = re.compile(r"[ \t\r\n]*")


class TextSource(Protocol):
    """What the readers need of an open text file."""

    def read(self, size: int = -1, /) -> str: ...


def iter_json_file(path: str | Path, fmt: str = "auto") -> Iterator[tuple[int, Any]]:
    """``(line, value)`` for each record of ``path``.

    ``fmt`` is ``"json"`` (one top-level array), ``"jsonl"`` (one value per
    non-blank line) or ``"auto"`` (an array when the first non-blank character
    is ``[``).

    Raises
    ------
    RatingsInputError
        Unreadable file, malformed JSON, or (``"json"``) no top-level array.
    """
    if fmt not in JSON_FORMATS:
        raise ValueError(f"unknown JSON format {fmt!r}; expected one of {JSON_FORMATS}")
    src = str(path)
    try:
        with open(path, encoding="utf-8-sig") as handle:
            if fmt == "auto":
                fmt = "json" if _first_char(handle) == "[" else "jsonl"
                handle.seek(0)
            reader = iter_json_array if fmt == "json" else iter_json_lines
            yield from reader(handle, src)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RatingsInputError(f"cannot read: {reason}", source=src) from exc


def iter_json_lines(lines: Iterable[str], source: str) -> Iterator[tuple[int, Any]]:
    """``(line, value)`` for each non-blank line of JSONL text (e.g. an open file)."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RatingsInputError(f"invalid JSON: {exc.msg}", source=source, line=number) from exc


def iter_json_array(handle: TextSource, source: str) -> Iterator[tuple[int, Any]]:
    """``(line, element)`` for each element of the JSON array a text stream holds.

    Reads ``CHUNK_CHARS`` at a time and keeps only the unread part of the
    text; what follows the closing ``]`` is not read.
    """
    buf = _Buffer(handle)
    decoder = json.JSONDecoder()
    if buf.skip_space() != "[":
        raise RatingsInputError("expected a JSON array", source=source, line=buf.line())
    buf.pos += 1
    expect_value = True
    while True:
        char = buf.skip_space()
        if char == "":
            raise RatingsInputError("unterminated JSON array", source=source, line=buf.line())
        if char == "]":
            return
        if char == ",":
            if expect_value:
                raise RatingsInputError("invalid JSON: unexpected ','", source=source,
                                        line=buf.line())  # fmt: skip
            buf.pos += 1
            expect_value = True
            continue
        if not expect_value:
            raise RatingsInputError("invalid JSON: expected ',' or ']'", source=source,
                                    line=buf.line())  # fmt: skip
        line = buf.line()
        while True:
            try:
                value, end = decoder.raw_decode(buf.text, buf.pos)
            except json.JSONDecodeError as exc:
                where = line + buf.text.count("\n", buf.pos, exc.pos)
                cut = exc.pos >= len(buf.text) - _CUT_MARGIN or exc.msg.startswith("Unterminated")
                if cut and buf.fill():
                    continue
                raise RatingsInputError(f"invalid JSON: {exc.msg}", source=source,
                                        line=where) from exc  # fmt: skip
            # a number that ends with the buffer may go on in the next chunk
            if end < len(buf.text) or not buf.fill():
                break
        buf.pos = end
        yield line, value
        expect_value = False


class _Buffer:
    """The unread text of a stream, a cursor into it and the cursor's line."""

    def __init__(self, handle: TextSource) -> None:
        self.handle = handle
        self.text = ""
        self.pos = 0
        self.eof = False
        self._line = 1
        self._counted = 0  # self._line is the line of self.text[self._counted]

    def line(self) -> int:
        self._line += self.text.count("\n", self._counted, self.pos)
        self._counted = self.pos
        return self._line

    def fill(self) -> bool:
        """Drop the text before the cursor and read more; ``False`` at the end."""
        if self.eof:
            return False
        self.line()
        self.text = self.text[self.pos :]
        self.pos = self._counted = 0
        chunk = self.handle.read(max(CHUNK_CHARS, len(self.text)))
        if not chunk:
            self.eof = True
            return False
        self.text += chunk
        return True

    def skip_space(self) -> str:
        """Move past whitespace; the next character, or ``""`` at the end."""
        while True:
            self.pos = _SPACES.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return ""


def _first_char(handle: TextSource) -> str:
    while chunk := handle.read(CHUNK_CHARS):
        stripped = chunk.lstrip(_SPACE)
        if stripped:
            return stripped[0]
    return ""


__all__ = ["CHUNK_CHARS", "JSON_FORMATS", "iter_json_array", "iter_json_file", "iter_json_lines"]
