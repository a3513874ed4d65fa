"""A batch of export records held as columns, and the JSON text of their values.

The exporter (arena.services.export) reads votes a batch at a time and hands the
writers (arena.formats.vote_writers) one ``VoteColumns`` per batch: a list per
field of EXPORT_FIELDS, scalars as Python values, ``stats`` as JSON text, and the
conversations as the database stores them (JSON text in any layout) with the rows
whose conversation is to be changed (prompts blanked). Each writer asks for the
conversations in the form it needs: the standard JSON text (JSON, JSONL, CSV), or
any JSON text for Arrow's parser (Parquet), so none pays for the other's.

All JSON text here is byte for byte what ``json.dumps(value, ensure_ascii=False)``
writes (UTF-8), the files' format since the first export, but made a column at a
time in C instead of a value at a time in Python:

- scalars (str, None, bool, int): one ``orjson.dumps`` of the whole column,
  indented, cut at its item separators (a JSON string holds no raw newline, so
  every newline of indented output is structural). orjson escapes strings as the
  standard library does (checked for every code point by the tests);
- conversations: a stored text that is already in that form (a list of ``{"role",
  "content"}`` with the standard separators and escapes, checked by one regular
  expression: what SQLAlchemy stores for ASCII text and what an import stores) is
  copied as it is. The others are parsed by one ``orjson.loads`` per batch and
  written back by indented ``orjson.dumps`` whose indentation becomes the standard
  library's separators (``", "``, ``": "``). orjson writes some floats differently
  from ``repr`` (``0.00001`` for ``1e-05``), so a conversation that is not a list of
  dicts of strings is written by the standard library instead. An import writes its
  conversations ({role, content} strings) with ``message_lists_json``;
- floats (``tstamp``): ``repr``, as ``json`` does; ``stats`` (small, live battles
  only): the standard library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _string
from typing import Any

import orjson

from arena.formats.votes import CONVERSATION_FIELDS, EXPORT_FIELDS

NESTED_FIELDS: tuple[str, ...] = ("stats", *CONVERSATION_FIELDS)
_ROW = b"\x00"  # a control character: escaped inside JSON strings, so never in the text
_BOOLS = {True: b"true", False: b"false"}  # 1 and 0 (SQLite) hash alike
# A JSON string as json.dumps(ensure_ascii=False) writes it: other characters as they
# are, quote and backslash escaped, control characters as \b \f \n \r \t or \u00xx.
# Possessive (*+): nothing to give back, and sre then keeps no state per character.
_STANDARD_STRING = (r'"[^"\\\x00-\x1f]*+'
                    r'(?:\\(?:["\\bfnrt]|u00(?:0[0-7]|0b|0e|0f|1[0-9a-f]))[^"\\\x00-\x1f]*+)*+"')
_STANDARD_MESSAGE = (re.escape('{"role": ') + _STANDARD_STRING + re.escape(', "content": ')
                     + _STANDARD_STRING + re.escape("}"))
_STANDARD_CONVERSATION = re.compile(rf"\[(?:{_STANDARD_MESSAGE}(?:, {_STANDARD_MESSAGE})*+)?\]")


@dataclass(frozen=True)
class VoteColumns:
    """*count* export records (see the module docstring)."""

    count: int
    columns: dict[str, Sequence[Any]]  # every field but the conversations
    conversations: dict[str, Sequence[str]] = field(default_factory=dict)  # as stored
    changed: Sequence[bool] = ()  # rows whose conversations *change* rewrites
    change: Callable[[Any], Any] | None = None
    _standard: dict[str, list[bytes]] = field(default_factory=dict, repr=False,
                                              compare=False)

    def conversation_json(self, name: str) -> list[bytes]:
        """Conversation *name* of each record as ``json.dumps`` writes it."""
        if name not in self._standard:
            self._standard[name] = conversation_texts(self.conversations[name],
                                                      change=self.change, rows=self.changed)
        return self._standard[name]

    def conversation_any_json(self, name: str) -> Sequence[str]:
        """Conversation *name* of each record as JSON text in any layout (as stored,
        unless changed)."""
        texts = self.conversations[name]
        if self.change is not None and any(self.changed):
            texts = list(texts)
            rows = [k for k, changed in enumerate(self.changed) if changed]
            pieces = conversation_texts([texts[k] for k in rows], change=self.change,
                                        rows=[True] * len(rows))
            for k, piece in zip(rows, pieces, strict=True):
                texts[k] = piece.decode()
        return texts

    def records(self) -> list[dict[str, Any]]:
        """The records as dicts, nested values parsed (the record-at-a-time view)."""
        fields = [f for f in EXPORT_FIELDS if f in self.columns or f in self.conversations]
        values = [_parsed(self.conversation_json(f)) if f in self.conversations
                  else _parsed(self.columns[f]) if f in NESTED_FIELDS else self.columns[f]
                  for f in fields]
        return [dict(zip(fields, row, strict=True)) for row in zip(*values, strict=True)]


def _parsed(texts: Sequence[bytes | None]) -> list[Any]:
    return [None if text is None else json.loads(text) for text in texts]


def json_scalars(values: Sequence[Any]) -> list[bytes]:
    """The JSON text of each str, None, int or bool in *values*."""
    if not values:
        return []
    try:
        text = orjson.dumps(values, option=orjson.OPT_INDENT_2)
    except TypeError:  # e.g. a lone surrogate: the standard library's answer, error or not
        return [json.dumps(v, ensure_ascii=False).encode() for v in values]
    return text[4:-2].split(b",\n  ")  # '[\n  1,\n  2\n]'


def json_bools(values: Sequence[Any]) -> list[bytes]:
    return list(map(_BOOLS.__getitem__, values))


def json_floats(values: Sequence[float]) -> list[bytes]:
    return [repr(v).encode() for v in values]


def json_texts(texts: Sequence[str | None]) -> list[bytes | None]:
    """Stored JSON texts (``stats``) re-written as ``json.dumps`` would; None stays None,
    and so does a stored JSON ``null``."""
    out: list[bytes | None] = []
    for text in texts:
        value = None if text is None else json.loads(text)
        out.append(None if value is None else json.dumps(value, ensure_ascii=False).encode())
    return out


def conversation_texts(texts: Sequence[str], *,
                       change: Callable[[Any], Any] | None = None,
                       rows: Sequence[bool] = ()) -> list[bytes]:
    """Stored conversations (JSON text) as ``json.dumps`` writes them.

    *change* is applied to the parsed conversation of each row where *rows* is true
    (e.g. blanking prompts). A text already in that form (``[{"role": ..., "content":
    ...}, ...]`` with the standard separators and escapes: what SQLAlchemy stores for
    ASCII conversations, and what an import stores) is taken as it is; the others are
    parsed and written a batch at a time.
    """
    pieces = list(map(str.encode, texts))
    todo = [k for k, match in enumerate(map(_STANDARD_CONVERSATION.fullmatch, texts))
            if match is None or change is not None and rows[k]]
    if todo:
        redone = _rewritten([texts[k] for k in todo], change=change,
                            rows=[rows[k] for k in todo] if change is not None else ())
        for k, piece in zip(todo, redone, strict=True):
            pieces[k] = piece
    return pieces


def _rewritten(texts: Sequence[str], *, change: Callable[[Any], Any] | None,
               rows: Sequence[bool]) -> list[bytes]:
    """Parse and write back a batch of conversations (see the module docstring)."""
    try:
        values = orjson.loads("[" + ",".join(texts) + "]")
    except orjson.JSONDecodeError:  # e.g. a number out of orjson's range
        values = None
    if values is None or len(values) != len(texts):
        values = [json.loads(text) for text in texts]
        slow = set(range(len(texts)))
    else:
        slow = {k for k, value in enumerate(values) if not _strings_only(value)}
    for k in slow:  # parsed again: the standard library reads floats its own way
        values[k] = json.loads(texts[k])  # (and standard_json writes these its way)
    if change is not None:
        for k, changed in enumerate(rows):
            if changed:
                values[k] = change(values[k])
    return standard_json(values)


def standard_json(values: Sequence[Any]) -> list[bytes]:
    """``json.dumps(value, ensure_ascii=False).encode()`` of each value, a batch at a
    time: lists of dicts of strings (conversations) through orjson (see the module
    docstring), anything else through the standard library."""
    if all(value is None for value in values):  # stats, mostly
        return [b"null"] * len(values)
    slow = {k for k, value in enumerate(values) if not _strings_only(value)}
    fast = [[] if k in slow else value for k, value in enumerate(values)] if slow else values
    pieces: list[bytes] = []
    try:  # a few dozen at a time: each pass over the text then stays in the CPU's cache
        for start in range(0, len(fast), _CHUNK):
            pieces += _indented_to_standard(
                orjson.dumps(fast[start:start + _CHUNK], option=orjson.OPT_INDENT_2))
    except TypeError:  # what orjson refuses (a lone surrogate): the standard library's way
        return [json.dumps(value, ensure_ascii=False).encode() for value in values]
    if len(pieces) != len(values):
        raise AssertionError("a batch of JSON values split into a wrong number of rows")
    for k in slow:
        pieces[k] = b"null" if values[k] is None else json.dumps(
            values[k], ensure_ascii=False).encode()
    return pieces


def message_lists_json(conversations: Sequence[list[dict[str, str]]]) -> list[str]:
    """``json.dumps(conversation, ensure_ascii=False)`` of conversations made of
    ``{"role": str, "content": str}`` messages only (as parse_vote makes them)."""
    return ["[" + ", ".join([f'{{"role": {_string(m["role"])}, "content": '
                             f'{_string(m["content"])}}}' for m in conversation]) + "]"
            for conversation in conversations]


_CHUNK = 64
# orjson's indented list of conversations (lists of dicts of strings: every newline is
# structural, each depth's indentation known) -> the standard separators, in C.
_STANDARD_SEPARATORS = (
    (b",\n      ", b", "),  # between a dict's items
    (b"{\n      ", b"{"),
    (b"\n    }", b"}"),
    (b",\n    {", b", {"),  # between messages
    (b"[\n    {", b"[{"),
    (b"}\n  ]", b"}]"),
)


def _indented_to_standard(text: bytes) -> list[bytes]:
    """``orjson.dumps(conversations, option=OPT_INDENT_2)`` -> each conversation as the
    standard library writes it."""
    if text == b"[]":
        return []
    body = text[4:-2]  # '[\n  [...],\n  [...]\n]'
    for indented, standard in _STANDARD_SEPARATORS:
        body = body.replace(indented, standard)
    body = body.replace(b",\n  [", _ROW + b"[")  # between conversations
    if b"\n" in body:
        raise AssertionError("a value that is not a conversation was written as one")
    return body.split(_ROW)


def _strings_only(value: Any) -> bool:
    """A list of dicts of strings (a conversation): orjson writes it as the standard
    library does, and _indented_to_standard knows its indentation."""
    if type(value) is not list:
        return False
    for message in value:
        if type(message) is not dict:
            return False
        for item in message.values():
            if type(item) is not str:
                return False
    return True
