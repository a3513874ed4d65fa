"""The rigging benchmark runs end to end on a small arena, so it cannot rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from arena.config import LimitSettings
from arena.services.limits import LimitPolicy

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_rigging.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_rigging", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_limits_delay_the_thirteenth_vote_of_a_minute(bench: ModuleType) -> None:
    policy = LimitPolicy.from_settings(LimitSettings(votes_per_minute_voter=12))
    n = 13
    one = np.zeros(n, dtype=np.int64)
    t = bench.landing_times(policy, one, one, np.ones(n, dtype=np.int64), 0.0, parallel=False)
    assert t[:12].tolist() == [0.0] * 12
    assert t[12] == 60.0  # the next fixed one-minute window


def test_limits_of_a_day_per_voter(bench: ModuleType) -> None:
    policy = LimitPolicy.from_settings(LimitSettings(votes_per_day_voter=30))
    n = 31
    one = np.zeros(n, dtype=np.int64)
    t = bench.landing_times(policy, one, one, np.ones(n, dtype=np.int64), 0.0, parallel=False)
    assert t[29] < 86_400 <= t[30]
    bots = np.arange(n)
    assert bench.landing_times(policy, bots, bots, np.ones(n, dtype=np.int64), 0.0,
                               parallel=True).max() == 0.0


@pytest.mark.slow
def test_quick_run(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    rows = bench.main(["--quick"])
    printed = capsys.readouterr().out
    assert "run time" in printed and "| (a) | target-only |" in printed
    assert {(r["class"], r["strategy"]) for r in rows} == {
        (c, s) for c in ("a", "b", "c", "c, over 30 days") for s in ("target-only", "omnipresent")
    }
    for row in rows:
        assert 0 < row["r0"] <= row["max"]
        assert row["r1"] is None or row["r1"] >= row["r0"]
        assert row["alone"][0] <= bench.HONEST_VOTERS_MAX
        assert row["alone"][1] <= bench.HONEST_VOTES_MAX
    single = next(r for r in rows if r["class"] == "a" and r["strategy"] == "target-only")
    assert single["mult"] >= bench.TARGETS["a"]  # one identity voting for one model is flagged
