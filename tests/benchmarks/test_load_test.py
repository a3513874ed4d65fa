"""benchmarks/load_test.py runs (tiny numbers) and checks every vote: the script
keeps working, and its vote accounting is exercised through nginx on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.utils.postgres import ADMIN_URL, fresh_postgres_database
from tests.utils.processes import REPO, arena_env
from tests.utils.stack import require_nginx

pytestmark = pytest.mark.slow


def test_load_test_runs_and_every_acknowledged_vote_is_stored() -> None:
    require_nginx()
    with fresh_postgres_database():  # skips (or fails in CI) without PostgreSQL
        pass
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "load_test.py"), "--voters", "6",
         "--ui-voters", "2", "--pairs", "2", "--reading-pairs", "1", "--read-delay", "0.1",
         "--ui-ceiling-voters", "2", "--setups", "postgres"],
        env=arena_env(ARENA_TEST_POSTGRES_URL=ADMIN_URL), capture_output=True, text=True,
        timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "postgres, 2 processes behind nginx" in result.stdout
    assert "lost 0, duplicated 0" in result.stdout
    assert "unexplained 0, ui_missing 0" in result.stdout
    assert "pairs/s over bare requests/s (postgres, 2 processes; the mean of" in result.stdout
    # The ceiling brackets the arena's capacity phase: one run before it, one after.
    assert "2 uvicorn workers, before the arena's capacity phase" in result.stdout
    assert "2 uvicorn workers, right after it" in result.stdout



def test_only_ui_compares_the_ui_events_with_the_bare_gradio_app() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "load_test.py"), "--only-ui",
         "--ui-ceiling-voters", "2", "--pairs", "2", "--ui-rounds", "2"],
        env=arena_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "UI round 1: arena" in result.stdout and "UI round 2: arena" in result.stdout
    line = next(line for line in result.stdout.splitlines() if "UI events, 1 process" in line)
    # Every battle showed answers and every vote its reveal, in both apps, in both rounds.
    assert line.count("errors 0 of 16") == 2, line
    assert "UI events/s over bare Gradio events/s" in result.stdout
    assert "pairs/s" not in result.stdout  # no REST phase, no PostgreSQL
