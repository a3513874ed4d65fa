"""Battle data: labels, file reading with line numbers, filters, aggregation, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ratings import (
    DROP_BOTHBAD_OUTCOME_MAP,
    Outcome,
    RatingsInputError,
    aggregate,
    battles_from_arrays,
    battles_from_records,
    read_battle_file,
)

RECS = [
    {"model_a": "x", "model_b": "y", "winner": "model_a", "anony": True, "tstamp": 100.0},
    {"model_a": "y", "model_b": "x", "winner": "model_a", "anony": False, "tstamp": 200.0},
    {"model_a": "x", "model_b": "z", "winner": "tie (bothbad)", "anony": True, "tstamp": 300.0},
    {"model_a": "z", "model_b": "y", "winner": "tie", "anony": True, "tstamp": 400.0},
]


def test_records_are_encoded_with_sorted_models() -> None:
    b = battles_from_records(RECS)
    assert b.models == ("x", "y", "z")
    assert b.a.tolist() == [0, 1, 0, 2]
    assert b.outcome.tolist() == [Outcome.A, Outcome.A, Outcome.TIE, Outcome.TIE]


def test_filters_anony_since_until() -> None:
    assert battles_from_records(RECS, anony_only=True).n_battles == 3
    assert battles_from_records(RECS, since=200.0, until=400.0).n_battles == 2
    iso = battles_from_records(RECS, since="1970-01-01T00:03:20", until="1970-01-01T00:06:40+00:00")
    assert iso.n_battles == 2


def test_bad_time_filter() -> None:
    with pytest.raises(RatingsInputError, match="invalid time 'yesterday'"):
        battles_from_records(RECS, since="yesterday")
    with pytest.raises(RatingsInputError, match="tstamp"):
        battles_from_records([{"model_a": "x", "model_b": "y", "winner": "tie"}], until=5.0)


def test_bothbad_can_be_kept_apart() -> None:
    assert battles_from_records(RECS, outcome_map=DROP_BOTHBAD_OUTCOME_MAP).n_battles == 3


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"model_a": "x", "model_b": "y", "winner": "draw"}, "unknown winner value 'draw'"),
        ({"model_a": "x", "model_b": "x", "winner": "tie"}, "plays itself"),
        ({"model_a": "x", "winner": "tie"}, "model_b"),
    ],
)
def test_bad_records_raise_with_line(record: dict, message: str) -> None:
    with pytest.raises(RatingsInputError, match=message) as info:
        battles_from_records([RECS[0], record], source="f.json")
    assert info.value.line == 2
    assert str(info.value).startswith("f.json:2: ")


def test_unknown_label_is_never_a_tie_in_arrays() -> None:
    with pytest.raises(RatingsInputError, match="unknown winner"):
        battles_from_arrays(["x"], ["y"], ["both_bad"])


def test_empty_and_nan_weights() -> None:
    with pytest.raises(RatingsInputError, match="empty"):
        battles_from_records([])
    with pytest.raises(RatingsInputError, match="empty"):
        battles_from_records(RECS, since=10_000.0)
    with pytest.raises(RatingsInputError, match="NaN"):
        battles_from_arrays(["x", "y"], ["y", "x"], ["tie", "tie"], weights=[1.0, float("nan")])
    with pytest.raises(RatingsInputError, match="plays itself"):
        battles_from_arrays(
            np.array([0, 1]), np.array([1, 1]), np.array([0, 0], dtype=np.int8), models=["p", "q"]
        )


def test_read_json_array_reports_line_of_record(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(RECS[:2], indent=2))
    recs, lines = read_battle_file(path)
    assert len(recs) == 2 and lines == [2, 9]
    bad = [RECS[0], {**RECS[1], "winner": "nope"}]
    path.write_text(json.dumps(bad, indent=2))
    recs, lines = read_battle_file(path)
    with pytest.raises(RatingsInputError, match=r"b\.json:9: unknown winner"):
        battles_from_records(recs, lines=lines, source=str(path))


def test_read_jsonl_and_syntax_errors(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECS) + "\n")
    recs, lines = read_battle_file(path)
    assert lines == [1, 2, 3, 4]
    path.write_text(json.dumps(RECS[0]) + "\n{oops\n")
    with pytest.raises(RatingsInputError, match=r"b\.jsonl:2: invalid JSON"):
        read_battle_file(path)
    path.write_text("[\n" + json.dumps(RECS[0]) + ",\n {oops}\n]")
    with pytest.raises(RatingsInputError, match=r":3: invalid JSON"):
        read_battle_file(path)


def test_aggregate_counts_and_reweight() -> None:
    b = battles_from_records(RECS)
    pc = aggregate(b)
    assert pc.i.tolist() == [0, 0, 1] and pc.j.tolist() == [1, 2, 2]
    np.testing.assert_array_equal(pc.count, [[1, 1, 0], [0, 0, 1], [0, 0, 1]])
    rw = aggregate(b, reweight=True, min_pair_count=1)
    np.testing.assert_allclose(rw.wsum, [[0.5, 0.5, 0], [0, 0, 1], [0, 0, 1]])
    np.testing.assert_allclose(rw.w2sum, [[0.25, 0.25, 0], [0, 0, 1], [0, 0, 1]])
