"""Reading FastChat ``clean_battle`` records: JSON array or JSONL files, filters.

Records carry ``model_a``, ``model_b`` and ``winner`` in {``model_a``,
``model_b``, ``tie``, ``tie (bothbad)``}, optionally ``anony``, ``tstamp``,
``judge`` and ``conversation_a``/``conversation_b``.  Every error names the
source file and the line on which the offending record starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ratings.data import (
    DEFAULT_OUTCOME_MAP,
    Battles,
    FeatureFn,
    OutcomeMap,
    Record,
    battles_from_arrays,
)
from ratings.errors import RatingsInputError
from ratings.jsonfile import iter_json_file


def _parse_time(value: str | datetime | float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        dt = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except ValueError as exc:
        raise RatingsInputError(f"invalid time {value!r}: expected ISO 8601") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def battles_from_records(
    records: Iterable[Record],
    *,
    lines: Sequence[int] | None = None,
    source: str | None = None,
    outcome_map: OutcomeMap = DEFAULT_OUTCOME_MAP,
    anony_only: bool = False,
    since: str | datetime | float | None = None,
    until: str | datetime | float | None = None,
    feature_fn: FeatureFn | None = None,
    feature_names: Sequence[str] = (),
    skip_flags: Sequence[str] = (),
) -> Battles:
    """Validate and encode clean_battle records, applying filters.

    Records left out by ``anony_only`` or by a true value in one of the
    ``skip_flags`` fields (e.g. ``"flagged"``) are not validated further: a
    dataset's excluded rows (such as a self-play record) do not stop the fit.

    ``since`` is inclusive and ``until`` exclusive (ISO 8601, naive = UTC, or
    unix seconds), compared with each record's ``tstamp``.

    Raises
    ------
    RatingsInputError
        Naming ``source`` and the record's line (from ``lines``, else its
        1-based position) for missing keys, unknown winner values, self-play.
    """
    t0, t1 = _parse_time(since), _parse_time(until)
    ma: list[str] = []
    mb: list[str] = []
    code: list[int] = []
    feats: list[Sequence[float]] = []
    for k, rec in enumerate(records):
        line = lines[k] if lines is not None else k + 1
        if not isinstance(rec, Mapping):
            raise RatingsInputError("record is not a JSON object", source=source, line=line)
        for key in ("model_a", "model_b", "winner"):
            if not isinstance(rec.get(key), str):
                raise RatingsInputError(f"missing or non-string {key!r}", source=source, line=line)
        label = rec["winner"]
        if label not in outcome_map:
            raise RatingsInputError(
                f"unknown winner value {label!r}; expected one of {sorted(outcome_map)}",
                source=source,
                line=line,
            )
        if anony_only and rec.get("anony") is not True:
            continue
        if any(rec.get(flag) is True for flag in skip_flags):
            continue
        if rec["model_a"] == rec["model_b"]:
            raise RatingsInputError(
                f"model {rec['model_a']!r} plays itself", source=source, line=line
            )
        if t0 is not None or t1 is not None:
            ts = rec.get("tstamp")
            if not isinstance(ts, (int, float)):
                raise RatingsInputError(
                    "time filter needs a numeric 'tstamp'", source=source, line=line
                )
            if (t0 is not None and ts < t0) or (t1 is not None and ts >= t1):
                continue
        mapped = outcome_map[label]
        if mapped is None:
            continue
        ma.append(rec["model_a"])
        mb.append(rec["model_b"])
        code.append(int(mapped))
        if feature_fn is not None:
            try:
                feats.append(feature_fn(rec))
            except (KeyError, TypeError, ValueError) as exc:
                raise RatingsInputError(
                    f"cannot compute style features: {exc}", source=source, line=line
                ) from exc
    if not ma:
        raise RatingsInputError("no battles to rate (empty data after filtering)", source=source)
    features = np.asarray(feats, dtype=np.float64) if feature_fn is not None else None
    return battles_from_arrays(
        ma, mb, np.asarray(code, dtype=np.int8), features=features, feature_names=feature_names
    )


def read_battle_file(path: str | Path) -> tuple[list[Record], list[int]]:
    """Read a clean_battle JSON array or JSONL file (see :mod:`ratings.jsonfile`).

    Returns the records and the 1-based line on which each one starts.

    Raises
    ------
    RatingsInputError
        Unreadable file, malformed JSON or no records, naming the file and line.
    """
    records: list[Record] = []
    lines: list[int] = []
    for line, record in iter_json_file(path):
        records.append(record)
        lines.append(line)
    if not records:
        raise RatingsInputError("no battles in file", source=str(path))
    return records, lines


__all__ = ["battles_from_records", "read_battle_file"]
