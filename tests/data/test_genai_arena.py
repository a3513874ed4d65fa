"""The GenAI-Arena votes through the app: import, export, ratings = the published fit.

Same options as tests/ratings/test_golden.py: FastChat's L2 (``SKLEARN_C1_L2``),
ties half, anonymous battles for the "anony" column and all for "full". The app
cannot store the file's one self-play vote (a battle needs two models): the
import skips it and names its line, as the ratings test removes it by hand.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import pytest

from arena.context import Arena
from arena.services.export import ExportFilters
from ratings import SKLEARN_C1_L2, RatingsWarning, compute_leaderboard, read_battle_file
from tests.data.helpers import export_to, import_from, read_records
from tests.utils.shared_data import WHERE

GOLDEN = Path(__file__).resolve().parents[1] / "ratings" / "golden" / "genai_sklearn_golden.json"
FILE = "clean_battle_20240220.json"
RATING_TOL = 0.01  # Elo points, as in tests/ratings/test_golden.py
PUBLISHED_OPTIMIZER_GAP = 2.7  # ditto: the published column is sklearn stopped early
COLUMNS = {"anony": "Arena Elo rating (anony)", "full": "Arena Elo rating (full)"}


@pytest.fixture
def genai_dir(shared_data: Path) -> Path:
    path = shared_data / "genai-arena-20240220"
    if not (path / FILE).is_file():
        pytest.skip(f"GenAI-Arena data not found at {path / FILE} ({WHERE})")
    return path


def ratings(records: list[dict]) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)  # two components, by design
        board = compute_leaderboard(records, l2=SKLEARN_C1_L2)
    return {row.model: row.rating for row in board.rows}


def test_genai_arena_imports_and_reproduces_the_published_leaderboard(
    arena: Arena, genai_dir: Path, tmp_path: Path
) -> None:
    summary = import_from(arena, genai_dir / FILE, source="genai-arena-20240220")
    assert (summary.imported, summary.duplicates, summary.self_play_lines) == (2060, 0, [14554])
    assert len(summary.models) == 13
    original, _ = read_battle_file(genai_dir / FILE)
    golden = json.loads(GOLDEN.read_text())["columns"]
    with open(genai_dir / "leaderboard_20240220.csv", newline="") as handle:
        published_rows = list(csv.DictReader(handle))
    for column, anony_only in (("anony", True), ("full", False)):
        path = tmp_path / f"{column}.jsonl"
        export_to(arena, path, "jsonl", filters=ExportFilters(anony_only=anony_only),
                  batch_size=500)
        exported = read_records(path)
        assert len(exported) == (1515 if anony_only else 2060)
        ours = ratings(exported)
        converged = golden[column]["sklearn_converged_without_self_play"]
        assert set(ours) == set(converged)
        for model, rating in ours.items():
            assert rating == pytest.approx(converged[model], abs=RATING_TOL)
        published = {row["key"]: float(row[COLUMNS[column]]) for row in published_rows}
        assert max(abs(ours[m] - published[m]) for m in published) < PUBLISHED_OPTIMIZER_GAP
        direct = ratings([r for r in original if r["model_a"] != r["model_b"]
                          and (r["anony"] or not anony_only)])
        assert ours == pytest.approx(direct, abs=1e-9)
        # the file's winners, anony flags and times survive exactly
        kept = [r for r in original if r["model_a"] != r["model_b"]
                and (r["anony"] or not anony_only)]
        assert [(r["model_a"], r["model_b"], r["winner"], r["anony"], r["tstamp"])
                for r in exported] == [
            (r["model_a"], r["model_b"], r["winner"], r["anony"], r["tstamp"]) for r in kept]
        # FastChat's judge "arena_user_::1" is an IP: stored and exported as a pseudonym
        assert {r["judge"] for r in exported} != {"arena_user_::1"}
        assert "::1" not in path.read_text()
    again = import_from(arena, genai_dir / FILE, source="genai-arena-20240220")
    assert (again.imported, again.duplicates) == (0, 2060)
