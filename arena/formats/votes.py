"""Vote datasets: FastChat ``clean_battle`` records in JSON, JSONL, CSV or Parquet.

One record per vote. FastChat's fields: ``question_id, model_a, model_b, winner``
(``model_a``, ``model_b``, ``tie`` or ``tie (bothbad)``), ``judge, anony, language,
turn, tstamp`` (unix seconds) and ``conversation_a``/``conversation_b`` (lists of
``{role, content}``). Ours: ``battle_id, category, answer_set, mode, source,
identity_leak, flagged, stats``. The arena-human-preference layout
(``winner_model_a, winner_model_b, winner_tie`` as 0/1, optional ``id, prompt,
response_a, response_b``) is read too.

Readers yield ``(line, VoteRecord)``; any malformed record raises FormatError
naming the file and the line (the record's row for CSV and Parquet, counting
the header as line 1 in CSV and the first row as 1 in Parquet).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from arena.formats.jsonl import FormatError, iter_json
from arena.models import WINNERS

FORMATS: tuple[str, ...] = ("jsonl", "json", "csv", "parquet")
CONVERSATION_FIELDS: tuple[str, ...] = ("conversation_a", "conversation_b")
EXPORT_FIELDS: tuple[str, ...] = (
    "battle_id", "question_id", "model_a", "model_b", "winner", "judge", "anony",
    "language", "turn", "tstamp", "category", "answer_set", "mode", "source",
    "identity_leak", "flagged", "too_fast", "suspicious", "seen_named", "stats",
    *CONVERSATION_FIELDS,
)
# Fields whose values belong to the arena holding the votes: after export -> import
# into another arena -> export, these differ (every other field is kept as is).
LOCAL_FIELDS: tuple[str, ...] = ("battle_id", "mode", "source")
HUMAN_PREFERENCE_WINNERS = {"winner_model_a": "model_a", "winner_model_b": "model_b",
                            "winner_tie": "tie"}
_MAX_LENGTHS = {"model_a": 200, "model_b": 200, "question_id": 200, "answer_set": 200,
                "category": 100, "language": 16, "record_id": 200}
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


@dataclass(frozen=True, slots=True)
class VoteRecord:
    """One validated vote as read from a dataset."""

    model_a: str
    model_b: str
    winner: str
    tstamp: float | None
    judge: str
    anony: bool
    question_id: str | None
    language: str | None
    category: str | None
    answer_set: str | None
    identity_leak: bool
    flagged: bool
    too_fast: bool
    suspicious: bool
    seen_named: bool
    stats: dict[str, Any] | None
    conversation_a: list[dict[str, str]]
    conversation_b: list[dict[str, str]]
    record_id: str | None  # battle_id (ours) or id (arena-human-preference)

    def content_hash(self) -> str:
        """A stable id for records without one: the same vote read from any format."""
        content = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "record_id"}
        # fields added later: old hashes still match
        for later in ("too_fast", "suspicious", "seen_named"):
            if not content[later]:
                content.pop(later)
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        return f"sha256:{digest[:40]}"


def detect_format(path: Path) -> str:
    """The format of *path* from its extension (a .json file may hold JSONL)."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix == ".json":
        with _open_text(path) as handle:
            head = handle.read(4096).lstrip()
        return "json" if head.startswith("[") else "jsonl"
    raise FormatError(path, f"cannot tell the format from {suffix or 'no extension'!r}; "
                            f"pass --format ({', '.join(FORMATS)})")


def iter_votes(path: Path, fmt: str = "auto") -> Iterator[tuple[int, VoteRecord]]:
    """Validated votes with the line (or row) each starts on."""
    for line, raw in iter_raw_records(path, fmt):
        yield line, parse_vote(raw, path, line)


def iter_raw_records(path: Path, fmt: str = "auto") -> Iterator[tuple[int, dict[str, Any]]]:
    fmt = detect_format(path) if fmt == "auto" else fmt
    readers = {"jsonl": partial(iter_json, fmt="jsonl"), "json": partial(iter_json, fmt="json"),
               "csv": _iter_csv, "parquet": _iter_parquet}
    if fmt not in readers:
        raise FormatError(path, f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    for line, raw in readers[fmt](path):
        if not isinstance(raw, dict):
            raise FormatError(path, "expected a JSON object", line=line)
        yield line, raw


def parse_vote(raw: dict[str, Any], path: Path, line: int) -> VoteRecord:
    """Validate one record (any layout, any format's value types)."""
    return _usual_vote(raw) or _checked_vote(raw, path, line)


def _usual_vote(raw: dict[str, Any]) -> VoteRecord | None:
    """The record as _checked_vote reads it when every value has the usual type (as
    our exports and FastChat's JSON hold them), checked at once; None for anything
    else, which _checked_vote then reads or refuses with its message."""
    get = raw.get
    winner, model_a, model_b = get("winner"), get("model_a"), get("model_b")
    if winner not in WINNERS or model_a is None or model_b is None:
        return None
    texts = (model_a, model_b, get("judge"), get("question_id"), get("language"),
             get("category"), get("answer_set"), get("battle_id", get("id")))
    for text, limit in zip(texts, _TEXT_LIMITS, strict=True):  # None, or a usual text
        if text is not None and (type(text) is not str or not text or len(text) > limit
                                 or text.isspace() or "\x00" in text):
            return None
    flags = (get("identity_leak"), get("flagged"), get("too_fast"), get("suspicious"),
             get("seen_named"), get("anony"))
    for flag in flags:
        if flag is not None and flag is not True and flag is not False:
            return None
    tstamp, stats = get("tstamp"), get("stats")
    if (tstamp is not None and (type(tstamp) is not float or not _FIRST <= tstamp <= _LAST)
            or stats is not None and (type(stats) is not dict or not _standard_json(stats))
            or "conversation_a" not in raw and "response_a" in raw):
        return None
    value_a, value_b = get("conversation_a"), get("conversation_b")
    conversation_a = [] if value_a is None else _plain_messages(value_a)
    conversation_b = [] if value_b is None else _plain_messages(value_b)
    if conversation_a is None or conversation_b is None:
        return None
    judge, question_id, language, category, answer_set, record_id = texts[2:]
    identity_leak, flagged, too_fast, suspicious, seen_named, anony = flags
    return VoteRecord(
        model_a=model_a, model_b=model_b, winner=winner, tstamp=tstamp, judge=judge or "",
        anony=anony is True, question_id=question_id, language=language, category=category,
        answer_set=answer_set, identity_leak=identity_leak is True, flagged=flagged is True,
        too_fast=too_fast is True, suspicious=suspicious is True,
        seen_named=seen_named is True, stats=stats, conversation_a=conversation_a,
        conversation_b=conversation_b, record_id=record_id,
    )


# The unix seconds a timestamp can hold (years 1-9999); NaN and infinities fall outside.
_FIRST = datetime(1, 1, 1, tzinfo=UTC).timestamp()
_LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
_TEXT_LIMITS = tuple(_MAX_LENGTHS.get(key, sys.maxsize) for key in (  # the texts above
    "model_a", "model_b", "judge", "question_id", "language", "category", "answer_set",
    "record_id"))


def _checked_vote(raw: dict[str, Any], path: Path, line: int) -> VoteRecord:

    def fail(message: str) -> FormatError:
        return FormatError(path, message, line=line)

    def text(key: str, *, required: bool = False) -> str | None:
        value = raw.get(key)
        if type(value) is str and value and not value.isspace():  # the usual case, at once
            limit = _MAX_LENGTHS.get(key)
            if limit and len(value) > limit:
                raise fail(f"field {key!r} is longer than {limit} characters")
            return no_nul(key, value)
        value = _blank_to_none(value)
        if value is None:
            if required:
                raise fail(f"missing field {key!r}")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise fail(f"field {key!r} must be a string")
        value = str(value)
        limit = _MAX_LENGTHS.get(key)
        if limit and len(value) > limit:
            raise fail(f"field {key!r} is longer than {limit} characters")
        return no_nul(key, value)

    def no_nul(key: str, value: str) -> str:
        if "\x00" in value:  # PostgreSQL's text columns refuse it; JSON keeps it escaped
            raise fail(f"field {key!r} holds a NUL character (\\u0000)")
        return value

    def flag(key: str, default: bool = False) -> bool:
        value = raw.get(key)
        if value is None:
            return default
        if value is True or value is False:
            return value  # type: ignore[no-any-return]
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise fail(f"field {key!r} must be true or false, got {value!r}")

    winner = _winner(raw, fail)
    tstamp = _blank_to_none(raw.get("tstamp"))
    if tstamp is not None:
        try:
            tstamp = float(tstamp)
        except (TypeError, ValueError):
            raise fail(f"field 'tstamp' must be unix seconds, got {tstamp!r}") from None
        if not math.isfinite(tstamp) or isinstance(raw.get("tstamp"), bool):
            raise fail(f"field 'tstamp' must be unix seconds, got {raw.get('tstamp')!r}")
        if not _FIRST <= tstamp <= _LAST:
            hint = " (milliseconds?)" if _FIRST <= tstamp / 1000 <= _LAST else ""
            raise fail(f"field 'tstamp' must be unix seconds of the years 1-9999, got "
                       f"{raw.get('tstamp')!r}{hint}")
    stats = _json_value(raw.get("stats"), "stats", fail)
    if stats is not None and not isinstance(stats, dict):
        raise fail("field 'stats' must be an object")
    if stats is not None and not _standard_json(stats):
        raise fail("field 'stats' holds NaN or Infinity, which JSON does not allow "
                   "(nor PostgreSQL's json columns)")
    conversation_a, conversation_b = _conversations(raw, fail)
    record_id = _blank_to_none(raw.get("battle_id", raw.get("id")))
    if record_id is not None:
        record_id = no_nul("battle_id" if "battle_id" in raw else "id", str(record_id))
        if len(record_id) > _MAX_LENGTHS["record_id"]:
            raise fail("record id (battle_id or id) is longer than 200 characters")
    return VoteRecord(
        model_a=text("model_a", required=True),  # type: ignore[arg-type]
        model_b=text("model_b", required=True),  # type: ignore[arg-type]
        winner=winner, tstamp=tstamp, judge=text("judge") or "", anony=flag("anony"),
        question_id=text("question_id"), language=text("language"),
        category=text("category"), answer_set=text("answer_set"),
        identity_leak=flag("identity_leak"), flagged=flag("flagged"),
        too_fast=flag("too_fast"), suspicious=flag("suspicious"),
        seen_named=flag("seen_named"), stats=stats,
        conversation_a=conversation_a, conversation_b=conversation_b, record_id=record_id,
    )


def _winner(raw: dict[str, Any], fail: Any) -> str:
    if "winner" not in raw and "winner_model_a" in raw:
        chosen = []
        for key, label in HUMAN_PREFERENCE_WINNERS.items():
            value = _blank_to_none(raw.get(key))  # absent or blank counts as 0
            if str(value).strip() in ("1", "1.0", "True", "true"):
                chosen.append(label)
            elif value is not None and str(value).strip() not in ("0", "0.0", "False", "false"):
                raise fail(f"field {key!r} must be 0 or 1, got {value!r}")
        if len(chosen) != 1:
            raise fail("exactly one of winner_model_a, winner_model_b, winner_tie must be 1")
        return chosen[0]
    winner = raw.get("winner")
    if winner not in WINNERS:
        raise fail(f"unknown winner {winner!r}; expected one of {', '.join(WINNERS)}")
    return winner  # type: ignore[no-any-return]


def _conversations(raw: dict[str, Any], fail: Any) -> tuple[list[dict[str, str]], ...]:
    if "conversation_a" not in raw and "response_a" in raw:  # arena-human-preference
        prompts = _turn_texts(raw.get("prompt"), "prompt", fail)
        result = []
        for key in ("response_a", "response_b"):
            answers = _turn_texts(raw.get(key), key, fail)
            messages = []
            for prompt, answer in zip(prompts, answers, strict=False):
                messages += [{"role": "user", "content": prompt},
                             {"role": "assistant", "content": answer}]
            result.append(messages)
        return result[0], result[1]
    pair = []
    for key in CONVERSATION_FIELDS:
        value = raw.get(key)
        messages = _plain_messages(value)
        if messages is not None:
            pair.append(messages)
            continue
        value = _json_value(value, key, fail)
        if value is None:
            value = []
        if not isinstance(value, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str)
            and isinstance(m.get("content"), str) for m in value
        ):
            raise fail(f"field {key!r} must be a list of {{role, content}} strings")
        pair.append([{"role": m["role"], "content": m["content"]} for m in value])
    return pair[0], pair[1]


def _plain_messages(value: Any) -> list[dict[str, str]] | None:
    """A conversation of exact dicts and strings as stored (None: take the checking path)."""
    if type(value) is not list:
        return None
    messages = []
    for message in value:
        if type(message) is not dict:
            return None
        role, content = message.get("role"), message.get("content")
        if type(role) is not str or type(content) is not str:
            return None
        messages.append({"role": role, "content": content})
    return messages


def _turn_texts(value: Any, key: str, fail: Any) -> list[str]:
    value = _json_value(value, key, fail, plain_text_ok=True)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return ["" if item is None else str(item) for item in value]
    raise fail(f"field {key!r} must be text or a list of texts")


def _json_value(value: Any, key: str, fail: Any, *, plain_text_ok: bool = False) -> Any:
    """Nested values arrive as JSON text from CSV (and from some Parquet files)."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        if plain_text_ok:
            return value
        raise fail(f"field {key!r} is not valid JSON: {exc.msg}") from exc


def _standard_json(value: Any) -> bool:
    """*value* (parsed JSON) holds no NaN or Infinity (Python's json reads them)."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def _blank_to_none(value: Any) -> Any:
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def _open_text(path: Path) -> Any:
    try:
        return path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise FormatError(path, f"cannot open: {exc.strerror}") from exc


def _iter_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with _open_text(path) as handle:
        dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
        reader = csv.DictReader(handle, dialect=dialect)
        start = 2
        try:
            for row in reader:
                if None in row:
                    raise FormatError(path, "more values than header columns", line=start)
                yield start, row
                start = reader.line_num + 1
        except csv.Error as exc:
            raise FormatError(path, f"invalid CSV: {exc}", line=reader.line_num) from exc


def _iter_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise FormatError(path, f"not a readable Parquet file: {exc}") from exc
    row = 0
    for batch in parquet.iter_batches(batch_size=10_000):
        for record in batch.to_pylist():
            row += 1
            yield row, record
