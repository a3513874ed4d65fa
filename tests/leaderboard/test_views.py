"""The live board equals ``ratings`` computed directly on the votes each view counts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import select

from arena.context import Arena
from arena.models import Battle, Vote
from arena.services.leaderboard import FIT_OPTIONS, STYLE_FIT_OPTIONS, Board, View
from ratings import SKLEARN_C1_L2, Leaderboard, compute_leaderboard
from tests.leaderboard.factories import Spec, add_votes, random_specs, reorder_last_two
from tests.utils.processes import arena_env, run_arena
from tests.utils.waiting import wait_until

KEYS = ("model", "rating", "lower", "upper", "rank", "rank_ub", "votes", "win_rate")
TOLERANCE = 1e-6
STYLE_TOLERANCE = 1e-4
"""The store keeps style features as float32 (arena.services.board_segments.STYLE_DTYPE):
style-controlled bounds then differ from a fit on float64 features by a few 1e-6 points."""


def reference(specs: list[Spec], *, style_control: bool = False) -> Leaderboard:
    options = STYLE_FIT_OPTIONS if style_control else FIT_OPTIONS
    return compute_leaderboard([s.record() for s in specs], style_control=style_control,
                               **options)


def assert_same(rows: list[dict[str, object]], ref: Leaderboard,
                tolerance: float = TOLERANCE) -> None:
    want = {r.model: r.as_dict() for r in ref.rows}
    got = {r["model"]: r for r in rows}
    assert got.keys() == want.keys()
    for model, expected in want.items():
        for key in KEYS:
            assert got[model][key] == pytest.approx(expected[key], abs=tolerance), (model, key)


def board_rows(board: Board) -> list[dict[str, object]]:
    return [r.as_dict() for r in board.rows]


def counted(spec: Spec) -> bool:
    return spec.anony and not spec.identity_leak and not spec.flagged


@pytest.fixture
def specs(arena: Arena) -> list[Spec]:
    """Random votes plus leaked, flagged and imported votes that would move the board."""
    votes = random_specs(240, seed=7)
    votes += [Spec("alpha", "delta", "model_a", identity_leak=True)] * 15
    votes += [Spec("alpha", "delta", "model_a", flagged=True)] * 15
    votes += [Spec("bravo", "charlie", "model_a", source="lmsys", category="coding")] * 10
    votes += random_specs(20, seed=8, store_style=False)  # style computed from the text
    add_votes(arena, votes)
    return votes


VIEWS = [
    (View(), counted),
    (View(language="en"), lambda s: counted(s) and s.language == "en"),
    (View(language="zh"), lambda s: counted(s) and s.language == "zh"),
    (View(language="other"), lambda s: counted(s) and s.language == "other"),
    (View(category="coding"), lambda s: counted(s) and s.category == "coding"),
    (View(turns="multi"), lambda s: counted(s) and s.turns > 1),
    (View(turns="single"), lambda s: counted(s) and s.turns == 1),
    (View(anony_only=False), lambda s: not s.identity_leak and not s.flagged),
    (View(include_flagged=True), lambda s: s.anony),
    (View(include_imported=False), lambda s: counted(s) and s.source is None),
    (View(category="writing", language="en", turns="single"),
     lambda s: counted(s) and s.category == "writing" and s.language == "en" and s.turns == 1),
]


@pytest.mark.parametrize("style", [False, True], ids=["plain", "style"])
@pytest.mark.parametrize(("view", "keep"), VIEWS, ids=[str(k) for k in range(len(VIEWS))])
def test_each_view_equals_ratings_on_its_votes(arena: Arena, specs: list[Spec], view: View,
                                              keep: object, style: bool) -> None:
    view = replace(view, style_control=style)
    board = arena.leaderboard.board(view)
    chosen = [s for s in specs if keep(s)]  # type: ignore[operator]
    assert board.total_votes == len(chosen)
    ref = reference(chosen, style_control=style)
    assert_same(board_rows(board), ref, STYLE_TOLERANCE if style else TOLERANCE)
    if style:
        assert board.fit is not None
        for name, coef in ref.style_coefficients.items():
            assert board.fit.style_coefficients[name] == pytest.approx(coef, abs=TOLERANCE)


def test_identity_leak_and_flagged_votes_are_left_out_by_default(arena: Arena) -> None:
    add_votes(arena, random_specs(40, seed=1))
    before = arena.leaderboard.board()
    add_votes(arena, [Spec("alpha", "delta", "model_a", identity_leak=True),
                      Spec("alpha", "delta", "model_a", flagged=True)])
    after = arena.leaderboard.board()
    assert after.version != before.version and after.rows == before.rows
    assert arena.leaderboard.board(View(include_flagged=True)).total_votes == 42 - sum(
        not s.anony for s in random_specs(40, seed=1))


def test_empty_and_unknown_views(arena: Arena) -> None:
    assert arena.leaderboard.board().rows == ()
    add_votes(arena, random_specs(10, seed=2))
    assert arena.leaderboard.board(View(category="no-such-category")).rows == ()


def test_votes_committed_out_of_id_order_are_read_once(arena: Arena) -> None:
    """PostgreSQL can make id N visible after id N + k: the margin re-read catches it."""
    everyone = View(anony_only=False)
    add_votes(arena, random_specs(5, seed=3))
    assert arena.leaderboard.board(everyone).total_votes == 5
    early_id, hidden = reorder_last_two(arena)  # the later vote becomes visible first ...
    assert arena.leaderboard.board(everyone).total_votes == 6
    with arena.session() as session:  # ... then the earlier one commits
        session.add(Vote(id=early_id, **hidden))
        session.commit()
    assert arena.leaderboard.board(everyone).total_votes == 7
    assert arena.leaderboard.board(everyone).total_votes == 7


def test_min_votes_hides_models(arena: Arena) -> None:
    add_votes(arena, [Spec("alpha", "bravo", "model_a")] * 5 + [Spec("alpha", "charlie", "tie")])
    arena.leaderboard.min_votes = 3
    board = arena.leaderboard.board()
    assert [r.model for r in board.rows] in (["alpha", "bravo"], ["bravo", "alpha"])
    assert board.hidden == 1


def test_two_processes_on_one_database_show_the_same_board(arena: Arena) -> None:
    other = Arena.open(arena.settings)
    try:
        add_votes(arena, random_specs(30, seed=5))
        assert board_rows(other.leaderboard.board()) == board_rows(arena.leaderboard.board())
        add_votes(other, random_specs(30, seed=6))
        first, second = arena.leaderboard.board(), other.leaderboard.board()
        assert first.total_votes == second.total_votes > 0
        assert board_rows(first) == board_rows(second)
    finally:
        other.close()


def test_arena_ratings_without_input_reads_the_database(arena: Arena, tmp_path: Path) -> None:
    votes = random_specs(120, seed=9)
    add_votes(arena, votes)
    done = run_arena("ratings", "--format", "json", cwd=tmp_path,
                     env=arena_env(arena.settings.database_url))
    assert done.returncode == 0, done.stderr
    # The live board's defaults: anonymous votes only, flagged and identity leaks out,
    # FastChat's C=1 prior on the ratings.
    ref = compute_leaderboard([s.record() for s in votes
                               if s.anony and not s.identity_leak and not s.flagged],
                              l2=SKLEARN_C1_L2)
    assert_same(json.loads(done.stdout), ref)
    assert_same(board_rows(arena.leaderboard.board()), ref)


def test_arena_ratings_without_input_or_database_creates_nothing(tmp_path: Path) -> None:
    absent = tmp_path / "absent.db"
    done = run_arena("ratings", cwd=tmp_path, env=arena_env(f"sqlite:///{absent}"))
    assert done.returncode == 2 and "--input" in done.stderr
    assert not absent.exists()


def test_flagging_after_the_vote_counts_after_the_background_reload(arena: Arena) -> None:
    add_votes(arena, [Spec("alpha", "bravo", "model_a")] * 3 + [Spec("bravo", "alpha", "tie")])
    cache = arena.leaderboard
    assert cache.board().total_votes == 4
    with arena.session() as session:
        battle = session.exec(select(Battle)).first()
        battle.flagged = True
        session.add(battle)
        session.commit()
    assert cache.board().total_votes == 4  # incremental reads see new votes only
    cache.store.reload_seconds = 0.0
    wait_until(lambda: cache.board().total_votes == 3, timeout=30,
               what="the background reload picking up the flag")


def test_export_then_ratings_input_prints_the_live_board(arena: Arena, tmp_path: Path) -> None:
    """One definition of which votes count: an export with the default filters, rated by
    `arena ratings --input` with its defaults, is the live board."""
    votes = random_specs(150, seed=4)
    add_votes(arena, votes)
    with arena.session() as session:  # a too-fast vote and a flagged voter's vote too
        rows = session.exec(select(Vote)).all()
        rows[0].too_fast, rows[1].suspicious = True, True
        session.add_all(rows[:2])
        session.commit()
    env = arena_env(arena.settings.database_url)
    out = tmp_path / "votes.jsonl"
    exported = run_arena("export", "votes", "--out", str(out), cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    rated = run_arena("ratings", "--input", str(out), "--format", "json", cwd=tmp_path, env=env)
    assert rated.returncode == 0, rated.stderr
    board = board_rows(arena.leaderboard.board())
    got = {r["model"]: r for r in json.loads(rated.stdout)}
    assert got.keys() == {r["model"] for r in board}
    for row in board:
        for key in KEYS:
            assert got[row["model"]][key] == pytest.approx(row[key], abs=TOLERANCE), key
    assert sum(r["votes"] for r in board) // 2 < 150  # named, flagged and too fast left out

