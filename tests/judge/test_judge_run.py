"""Judge battles against a real local judge server: both orders, unreadable verdicts,
429s, resume, position bias, and nothing in the human board."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import func, select

from arena import services
from arena.config import load_settings
from arena.context import Arena
from arena.formats.answers import read_answer_set
from arena.models import Battle, Vote
from arena.services.judging import judge_stats, run_judge_sync
from arena.services.leaderboard import View
from tests.utils.fake_judge import FakeJudge, serve_fake_judge
from tests.utils.processes import arena_env, run_arena

MODELS = ("short", "medium", "long")
ANSWERS = {"short": "Yes.", "medium": "Yes, because of X.", "long": "Yes, because of X and Y."}
QUESTIONS = ["Plain question one?", "Plain question two?", "RATE limited question?",
             "SLOW question?", "MALFORMED question?", "BIASED question?"]


def import_set(arena: Arena, tmp_path: Path) -> None:
    path = tmp_path / "judged.jsonl"
    path.write_text("".join(json.dumps({
        "question_id": f"q{k}", "turns": [text],
        "answers": {m: [ANSWERS[m]] for m in MODELS}}) + "\n"
        for k, text in enumerate(QUESTIONS)), encoding="utf-8")
    with arena.session() as session:
        services.import_answer_set(session, read_answer_set(path))


@pytest.fixture
def judged(database_url: str, tmp_path: Path):
    fake = FakeJudge()
    with serve_fake_judge(fake) as url:
        judge = {"name": "fake", "base_url": url, "model": "judge-model",
                 "max_retry_after": 1.0}
        arena = Arena.open(load_settings(database_url=database_url, judges=[judge],
                                         battle={"load_demo": False}), migrate=True)
        import_set(arena, tmp_path)
        try:
            yield arena, fake, url
        finally:
            arena.close()


def test_both_orders_unreadable_verdicts_429_resume_and_bias(judged) -> None:
    arena, fake, _ = judged
    judge = arena.settings.judges[0]
    summary = run_judge_sync(arena, judge, concurrency=8)
    # 6 questions x 3 pairs x 2 orders; MALFORMED's 6 are unreadable; RATE's 429s retried
    assert (summary.planned, summary.verdicts, summary.unreadable, summary.errors) == (
        36, 30, 6, 0)
    assert len(fake.refused) == 6 and summary.prompt_tokens == 36 * 100
    with arena.session() as session:
        rows = session.execute(select(Battle.question_id, Battle.model_a, Battle.model_b,
                                      Vote.winner).join(Vote, Vote.battle_id == Battle.id)
                               ).all()
        failed = session.exec(select(Battle).where(Battle.status == "failed")).all()
        stats = judge_stats(session, "fake")
    rank = {m: k for k, m in enumerate(MODELS)}
    for question, a, b, winner in rows:
        if question == "q5":  # BIASED: always the first shown
            assert winner == "model_a"
        else:  # the longer answer, whichever side it was shown on
            assert winner == ("model_a" if rank[a] > rank[b] else "model_b")
    assert {(b.question_id, "unreadable verdict" in b.failure_reason) for b in failed} == {
        ("q4", True)}
    # position bias: BIASED's 3 pairs disagree across orders, of 15 pairs readable twice
    assert (stats.both_orders, stats.position_bias) == (15, pytest.approx(3 / 15))
    assert (stats.verdicts, stats.unreadable) == (30, 6)

    again = run_judge_sync(arena, judge, concurrency=8)
    assert (again.planned, again.skipped, fake.requests) == (0, 36, 36 + 6)

    # Judge votes stay out of every human board view.
    for view in (View(), View(anony_only=False), View(include_imported=True,
                                                       anony_only=False)):
        assert arena.leaderboard.board(view).total_votes == 0
    with arena.session() as session:
        assert session.exec(select(func.count()).select_from(Vote)).one() == 30


def test_pairs_draws_that_many_items_in_both_orders(judged) -> None:
    arena, _, _ = judged
    summary = run_judge_sync(arena, arena.settings.judges[0], pairs=4, seed=1)
    assert summary.planned == 8
    with arena.session() as session:
        keys = session.exec(select(Battle.question_pk, Battle.model_a, Battle.model_b)).all()
    assert {(q, *sorted((a, b))) for q, a, b in keys} == {
        (q, *sorted((b, a))) for q, a, b in keys}  # each item in both orders
    assert len({(q, *sorted((a, b))) for q, a, b in keys}) == 4


def test_the_command_judges_resumes_and_names_a_missing_judge(judged, database_url: str,
                                                              tmp_path: Path) -> None:
    _, _, url = judged
    config = tmp_path / "arena.toml"
    config.write_text(f'battle.load_demo = false\n\n[[judges]]\nname = "fake"\n'
                      f'base_url = "{url}"\nmodel = "judge-model"\nmax_retry_after = 1.0\n')
    env = arena_env(database_url, ARENA_CONFIG=str(config))
    first = run_arena("judge", "run", "--judge", "fake", "--pairs", "3", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert "judged 6 battles" in first.stdout and "position bias" in first.stdout
    again = run_arena("judge", "run", "--judge", "fake", "--all", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert "judged 30 battles" in again.stdout and "(6 already stored)" in again.stdout
    missing = run_arena("judge", "run", "--judge", "nobody", "--all", cwd=tmp_path, env=env)
    assert missing.returncode != 0 and "no judge named 'nobody'" in missing.stderr


def add_people_votes(arena: Arena) -> None:
    """People's votes on q0 (the longer answer wins, as the judge says) and q1 (ties,
    where the judge picks the longer): 3 of 6 agree with ties, 3 of 3 without."""
    import secrets

    from arena.models import Question

    with arena.session() as session:
        pks = {q.question_id: q.id for q in session.exec(select(Question))}
        for question, tie in (("q0", False), ("q1", True)):
            for a, b in (("short", "medium"), ("long", "short"), ("medium", "long")):
                winner = "tie" if tie else (
                    "model_a" if MODELS.index(a) > MODELS.index(b) else "model_b")
                message = [{"role": "user", "content": "x"}]
                battle = Battle(id=secrets.token_hex(16), anony=True, mode="answers",
                                model_a=a, model_b=b, question_pk=pks[question],
                                question_id=question, conversation_a=message,
                                conversation_b=message, status="voted", voter_id="person")
                session.add(battle)
                session.flush()
                session.add(Vote(battle_id=battle.id, winner=winner))
        session.commit()


def test_the_judge_board_beside_the_people_and_how_far_they_agree(judged, database_url: str,
                                                                   tmp_path: Path) -> None:
    import httpx

    from arena.services.agreement import judge_agreement
    from tests.utils.server import start_server

    arena, _, url = judged
    add_people_votes(arena)
    run_judge_sync(arena, arena.settings.judges[0], concurrency=4)
    with arena.session() as session:
        found = judge_agreement(session, arena.leaderboard, "fake")
    assert (found.battles, found.agreement) == (6, pytest.approx(0.5))
    assert (found.decided, found.agreement_without_ties) == (3, pytest.approx(1.0))
    assert (found.models, found.spearman, found.kendall) == (3, pytest.approx(1.0),
                                                              pytest.approx(1.0))
    assert found.position_bias == pytest.approx(3 / 15) and found.judge_unreadable == 6
    people = {r.model: r.votes for r in arena.leaderboard.board(View()).rows}
    assert people == dict.fromkeys(MODELS, 4)  # the judge's 30 verdicts are not here

    with start_server(arena) as server:
        body = httpx.get(f"{server.url}/api/leaderboard/agreement",
                         params={"judge": "fake"}).json()
        assert body == found.as_dict()
        board = httpx.get(f"{server.url}/api/leaderboard", params={"judge": "fake"}).json()
        assert {r["model"]: r["votes"] for r in board} == dict.fromkeys(MODELS, 20)
        assert [r["model"] for r in board] == ["long", "medium", "short"]
        unknown = httpx.get(f"{server.url}/api/leaderboard/agreement",
                            params={"judge": "nobody"})
        assert unknown.status_code == 404

    config = tmp_path / "arena.toml"
    config.write_text(f'[[judges]]\nname = "fake"\nbase_url = "{url}"\nmodel = "m"\n')
    env = arena_env(database_url, ARENA_CONFIG=str(config))
    done = run_arena("ratings", "--source", "judge:fake", "--format", "json", cwd=tmp_path,
                     env=env)
    assert done.returncode == 0, done.stderr
    assert {r["model"]: r["votes"] for r in json.loads(done.stdout)} == dict.fromkeys(MODELS, 20)
    table = run_arena("ratings", "--source", "judge:fake", cwd=tmp_path, env=env)
    assert table.returncode == 0, table.stderr
    assert "Spearman 1.000, Kendall tau-b 1.000" in table.stdout
    assert "50.0% agree (ties as a verdict), 100.0% without ties (3 battles)" in table.stdout
    assert "position bias 20.0% over 15 items" in table.stdout
    bad = run_arena("ratings", "--source", "robots", cwd=tmp_path, env=env)
    assert bad.returncode != 0 and "people or judge:NAME" in bad.stderr

