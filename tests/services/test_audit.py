"""The anomalous-voter audit on a real database: planted voters found, the board leaves
them out, the owner's word wins, and the owner's commands work."""

from __future__ import annotations

import math
import random
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlmodel import func, select

from arena.context import Arena
from arena.models import Battle, Vote, VoterFlag
from arena.services.audit import claim_run, run_audit
from arena.services.flags import flag_voter, flagged_voters, set_battle_flag, unflag_voter
from arena.services.leaderboard import View
from tests.utils.processes import arena_env, run_arena

MODELS = [f"model-{k:02d}" for k in range(12)]
# About a real board's spread: the top model is preferred to the bottom one ~90% of the time.
STRENGTH = {m: 4.4 * (k / (len(MODELS) - 1)) - 2.2 for k, m in enumerate(MODELS)}
START = datetime(2026, 11, 1, tzinfo=UTC)


def simulate(arena: Arena, *, seed: int = 7, honest: int = 150, votes_each: int = 40,
             planted: int = 10, planted_votes: int = 100,
             booster_ip: str | None = None) -> tuple[set[str], set[str], str]:
    """Honest voters by Bradley-Terry strengths with 15% ties; planted random voters
    (A, B or tie at random) and always-one-model voters (for the weakest model), with more
    votes each, all behind ``booster_ip`` when given. Returns (honest ids, planted ids,
    target)."""
    rng = random.Random(seed)
    target = MODELS[0]
    battles, votes = [], []
    honest_ids = {f"honest-{k:04d}" for k in range(honest)}
    random_ids = {f"random-{k:03d}" for k in range(planted)}
    booster_ids = {f"booster-{k:03d}" for k in range(planted)}
    for voter in sorted(honest_ids | random_ids | booster_ids):
        ip = booster_ip if booster_ip and voter in booster_ids else secrets.token_hex(16)
        for _ in range(votes_each if voter in honest_ids else planted_votes):
            a, b = rng.sample(MODELS, 2)
            if voter in booster_ids and rng.random() < 0.8:
                a = target if target not in (a, b) else a
                b = b if b != a else MODELS[1]
            if voter in random_ids:
                winner = rng.choice(["model_a", "model_b", "tie"])
            elif voter in booster_ids and target in (a, b):
                winner = "model_a" if a == target else "model_b"
            else:
                p = 1 / (1 + math.exp(STRENGTH[b] - STRENGTH[a]))
                roll = rng.random()
                winner = "tie" if roll < 0.15 else ("model_a" if roll < 0.15 + 0.85 * p
                                                    else "model_b")
            battle_id = secrets.token_hex(16)
            at = START + timedelta(seconds=rng.uniform(0, 10 * 86_400))
            battles.append({"id": battle_id, "anony": True, "mode": "answers", "model_a": a,
                            "model_b": b, "conversation_a": [], "conversation_b": [],
                            "status": "voted", "voter_id": voter, "ip_hash": ip,
                            "created_at": at, "identity_leak": False, "flagged": False})
            votes.append({"battle_id": battle_id, "winner": winner, "created_at": at,
                          "too_fast": False, "suspicious": False})
    with arena.session() as session:
        session.execute(insert(Battle), battles)
        session.execute(insert(Vote), votes)
        session.commit()
    return honest_ids, random_ids | booster_ids, target


def test_audit_finds_planted_voters_and_the_board_leaves_them_out(arena: Arena) -> None:
    honest, planted, _ = simulate(arena)
    total = arena.leaderboard.board().total_votes
    report = run_audit(arena)
    flagged = {voter for voter, _ in report.flagged}
    recall = len(flagged & planted) / len(planted)
    false_positives = len(flagged & honest) / len(honest)
    assert recall >= 0.9, sorted(planted - flagged)
    assert false_positives <= 0.05, sorted(flagged & honest)
    assert all(reason for _, reason in report.flagged)
    with arena.session() as session:
        stored = {row.voter_id for row in session.exec(select(VoterFlag).where(VoterFlag.flagged))}
        suspicious = session.exec(select(func.count()).select_from(Vote)
                                  .where(Vote.suspicious)).one()
    assert stored == flagged and suspicious >= 100 * len(flagged & planted)

    def counted() -> int:
        return arena.leaderboard.board().total_votes

    from tests.utils.waiting import wait_until

    wait_until(lambda: counted() < total, timeout=30, what="the board leaving them out")
    left_out = total - counted()
    assert left_out >= 100 * len(flagged & planted)
    everything = arena.leaderboard.board(View(include_suspicious=True)).total_votes
    assert everything == total


def test_every_id_behind_a_flagged_address_is_flagged(arena: Arena) -> None:
    _, planted, _ = simulate(arena, planted=25, planted_votes=6, booster_ip="one-office")
    boosters = {voter for voter in planted if voter.startswith("booster-")}
    report = run_audit(arena)
    reasons = dict(report.flagged)
    assert boosters <= set(reasons)  # 6 votes each: too few alone, 150 behind one address
    assert {reasons[v].split(":")[0] for v in boosters} == {"address shared by 25 voter ids"}


def test_the_owners_word_wins_over_the_audit(arena: Arena) -> None:
    _, planted, _ = simulate(arena, honest=80, planted=5)
    report = run_audit(arena)
    flagged = sorted(voter for voter, _ in report.flagged)
    cleared, confirmed = flagged[0], flagged[1]
    with arena.session() as session:
        unflag_voter(session, cleared)
        flag_voter(session, confirmed, "seen by hand")
        flag_voter(session, "honest-0001", "owner's own suspicion")
    run_audit(arena)
    with arena.session() as session:
        rows = {r.voter_id: r for r in flagged_voters(session, include_cleared=True)}
    assert rows[cleared].flagged is False and rows[cleared].review == "cleared"
    assert rows[confirmed].flagged and rows[confirmed].review == "confirmed"
    assert rows["honest-0001"].flagged and rows["honest-0001"].source == "owner"
    assert rows["honest-0001"].battles == 40


def test_only_one_process_claims_a_due_audit(arena: Arena) -> None:
    other = Arena.open(arena.settings)
    try:
        claims = [claim_run(a, timedelta(minutes=60)) for a in (arena, other, arena)]
    finally:
        other.close()
    assert claims == [True, False, False]


def test_owner_commands(arena: Arena, tmp_path: Path) -> None:
    simulate(arena, honest=60, planted=4)
    env = arena_env(arena.settings.database_url)

    def arena_cli(*args: str) -> tuple[int, str, str]:
        done = run_arena(*args, cwd=tmp_path, env=env)
        return done.returncode, done.stdout, done.stderr

    code, out, err = arena_cli("keys", "create", "load-test")
    assert code == 0 and out.strip().startswith("arena_") and "not shown again" in err
    key = out.strip()
    code, out, _ = arena_cli("keys", "list")
    assert code == 0 and "load-test" in out and key[:12] in out and key not in out
    assert arena_cli("keys", "create", "load-test")[0] == 1  # names are unique
    code, out, _ = arena_cli("keys", "revoke", "load-test")
    assert code == 0 and "revoked" in arena_cli("keys", "list")[1]
    assert arena_cli("keys", "revoke", "nobody")[0] == 1

    code, out, _ = arena_cli("voters", "audit")
    assert code == 0 and "voters flagged" in out
    code, listed, _ = arena_cli("voters", "list", "--flagged")
    assert code == 0 and ("random-" in listed or "booster-" in listed)
    code, out, _ = arena_cli("voters", "flag", "honest-0002", "--reason", "by hand")
    assert code == 0 and "honest-0002" in arena_cli("voters", "list")[1]
    code, out, _ = arena_cli("voters", "unflag", "honest-0002")
    assert code == 0 and "honest-0002" not in arena_cli("voters", "list")[1]
    assert arena_cli("voters", "flag", "never-voted-here")[0] == 1

    with arena.session() as session:
        battle_id = session.exec(select(Battle.id)).first()
    assert arena_cli("battles", "flag", battle_id)[0] == 0
    with arena.session() as session:
        assert session.get(Battle, battle_id).flagged is True
    assert arena_cli("battles", "unflag", battle_id)[0] == 0
    with arena.session() as session:
        assert session.get(Battle, battle_id).flagged is False
        set_battle_flag(session, battle_id, True)
    assert arena_cli("battles", "flag", "no-such-battle")[0] == 1


def test_a_serving_process_audits_in_a_child_process(arena: Arena, monkeypatch) -> None:
    """The scheduled audit (and the owner page's) runs apart: same report and flags, and
    the serving process never reads the votes itself."""
    import arena.services.audit as audit_module

    _, planted, _ = simulate(arena, seed=5)
    monkeypatch.setattr(audit_module, "_read_votes", lambda *a, **k: pytest.fail(
        "the audit read the votes in the serving process"))
    report = audit_module.run_audit_apart(arena.settings)
    flagged = {voter for voter, _ in report.flagged}
    assert report.votes > 0 and len(flagged & planted) >= 0.9 * len(planted)
    with arena.read_session() as session:
        stored = {row.voter_id for row in session.exec(select(VoterFlag).where(VoterFlag.flagged))}
    assert stored == flagged
