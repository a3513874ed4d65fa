"""Group covariates on the live board: battle attributes as controls (OpenCompass's groups),
their odds ratios over HTTP and in `arena ratings --control`."""

from __future__ import annotations

import json
import random
from pathlib import Path

import httpx

from arena.context import Arena
from tests.leaderboard.factories import MODELS, Spec, add_votes
from tests.utils.processes import arena_env, run_arena
from tests.utils.server import LiveServer


def side_biased_votes(n: int, seed: int = 4) -> list[Spec]:
    """Equal models; in "coding" the answer shown first wins 3 times in 4, in "chat" half."""
    rng = random.Random(seed)
    specs = []
    for k in range(n):
        a, b = rng.sample(MODELS, 2)
        category = "coding" if k % 2 else "chat"
        first_wins = rng.random() < (0.75 if category == "coding" else 0.5)
        specs.append(Spec(a, b, "model_a" if first_wins else "model_b", category=category,
                          language=rng.choice(("en", "zh"))))
    return specs


def by_name(body: dict) -> dict[str, dict]:
    return {c["name"]: c for c in body["coefficients"]}


def test_controls_give_each_group_its_odds_ratio(server: LiveServer) -> None:
    add_votes(server.arena, side_biased_votes(1600))
    with httpx.Client(base_url=server.url, timeout=60) as api:
        body = api.get("/api/leaderboard/controls", params={"control": "category"}).json()
        both = api.get("/api/leaderboard/controls",
                       params=[("control", "category"), ("control", "language"),
                               ("style_control", "true")]).json()
        plain = api.get("/api/leaderboard/controls").json()
        board = api.get("/api/leaderboard", params={"control": "category"})
        bad = api.get("/api/leaderboard", params={"control": "voter"})
        twice = api.get("/api/leaderboard", params=[("control", "turns"), ("control", "turns")])
    coef = by_name(body)
    assert body["battles"] == 1600 and set(coef) == {"category=chat", "category=coding"}
    coding, chat = coef["category=coding"], coef["category=chat"]
    assert coding["kind"] == "group"
    assert 2.0 < coding["odds_ratio"] < 4.5  # 3 to 1, sampled
    assert coding["odds_ratio_lower"] > 1.0  # the first-shown answer is favoured in coding
    assert chat["odds_ratio_lower"] < 1.0 < chat["odds_ratio_upper"]
    # language after category drops its most common level as the reference, by name
    names = set(by_name(both))
    assert {"length", "headers", "lists", "bold"} <= names
    assert {"category=chat", "category=coding"} <= names
    assert len([n for n in names if n.startswith("language=")]) == 1
    assert any(n.endswith("(vs language=en)") or n.endswith("(vs language=zh)") for n in names)
    assert {c["kind"] for c in both["coefficients"] if c["name"] == "length"} == {"style"}
    assert plain["coefficients"] == []  # a plain board has no covariates
    assert board.status_code == 200 and {r["model"] for r in board.json()} == set(MODELS)
    assert bad.status_code == 422
    assert twice.status_code == 422 and "at most once" in twice.text


def test_cli_prints_group_odds_ratios(arena: Arena, database_url: str, tmp_path: Path) -> None:
    add_votes(arena, side_biased_votes(800, seed=9))
    env = arena_env(database_url)
    done = run_arena("ratings", "--control", "category", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    lines = {line.split(":")[0]: line for line in done.stdout.splitlines() if ":" in line}
    assert "odds ratio" in lines["control category=coding"]
    bad = run_arena("ratings", "--control", "weather", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "controls must be" in bad.stderr

    records = [{**s.record(), "category": s.category, "anony": True}
               for s in side_biased_votes(800, seed=9)]
    battles = tmp_path / "battles.json"
    battles.write_text(json.dumps(records))
    from_file = run_arena("ratings", "--input", str(battles), "--control", "category",
                          cwd=tmp_path, env=env)
    assert from_file.returncode == 0, from_file.stderr
    same = {line.split(":")[0]: line for line in from_file.stdout.splitlines() if ":" in line}
    assert "control category=coding" in same and "control category=chat" in same
