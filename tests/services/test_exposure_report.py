"""The exposure report against counts taken straight from the database, and the policy's
intended shares against hand-computed ones."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from arena import services
from arena.config import SamplingSettings
from arena.context import Arena
from arena.models import utcnow
from arena.services.exposure_report import exposure_report
from arena.services.sampling import Sampler
from arena.services.voters import Voter
from tests.utils.factories import MODELS, import_small_set
from tests.utils.limits import NO_LIMITS
from tests.utils.server import start_server

# weights 1, 2, 1: pairs (a, b) 2, (a, c) 1, (b, c) 2 of 5, so appearances
# a (2 + 1) / 10, b (2 + 2) / 10, c (1 + 2) / 10.
WEIGHTS = {MODELS[0]: 1.0, MODELS[1]: 2.0, MODELS[2]: 1.0}
INTENDED = {MODELS[0]: 0.3, MODELS[1]: 0.4, MODELS[2]: 0.3}


def fill(arena: Arena, tmp_path: Path) -> None:
    import_small_set(arena, tmp_path, questions=12)
    sampler = Sampler(SamplingSettings(policy="weighted", weights=WEIGHTS, new_model_votes=0),
                      record=True)
    rng = random.Random(4)
    with arena.session() as session:
        for k in range(30):
            voter = Voter(id=f"v{k}", ip_hash="h", ui_language="en")
            shown = services.start_battle(session, voter=voter, limits=NO_LIMITS,
                                          sampler=sampler, rng=rng)
            if k % 3:
                services.record_vote(session, battle_id=shown.battle_id, winner="tie",
                                     voter=voter, limits=NO_LIMITS)
        # A named battle is not an anonymous draw: it is left out.
        services.start_battle(session, voter=Voter(id="n", ip_hash="h"), limits=NO_LIMITS,
                              models=(MODELS[0], MODELS[1]))


def direct_counts(arena: Arena, since: object = None) -> tuple[dict, dict, int, int]:
    """Appearances per model, straight from the tables."""
    where = "b.anony AND b.mode IN ('answers', 'live')"
    params = {}
    if since is not None:
        params["since"] = since
    with arena.engine.connect() as connection:
        battles = connection.execute(text(
            f"SELECT b.model_a, b.model_b FROM battle b WHERE {where}"
            + (" AND b.created_at >= :since" if since is not None else "")), params).all()
        votes = connection.execute(text(
            f"SELECT b.model_a, b.model_b FROM vote v JOIN battle b ON b.id = v.battle_id "
            f"WHERE {where}" + (" AND v.created_at >= :since" if since is not None else "")),
            params).all()
    shown: dict[str, int] = {}
    voted: dict[str, int] = {}
    for rows, counter in ((battles, shown), (votes, voted)):
        for a, b in rows:
            counter[a] = counter.get(a, 0) + 1
            counter[b] = counter.get(b, 0) + 1
    return shown, voted, len(battles), len(votes)


def test_the_report_equals_the_tables_and_the_intended_shares(arena: Arena,
                                                              tmp_path: Path) -> None:
    fill(arena, tmp_path)
    with arena.session() as session:
        report = exposure_report(session)
    shown, voted, n_battles, n_votes = direct_counts(arena)
    assert (report.battles, report.votes, report.battles_with_intent) == (30, 20, 30)
    assert (n_battles, n_votes) == (30, 20)
    assert report.policies == ("weighted",)
    for row in report.models:
        assert row.battles == shown[row.model]
        assert row.votes == voted.get(row.model, 0)
        assert row.battle_share == pytest.approx(shown[row.model] / (2 * n_battles))
        assert row.vote_share == pytest.approx(voted.get(row.model, 0) / (2 * n_votes))
        assert row.intended_share == pytest.approx(INTENDED[row.model])
    assert sum(r.battle_share for r in report.models) == pytest.approx(1.0)


def test_a_window_counts_only_its_battles_and_votes(arena: Arena, tmp_path: Path) -> None:
    fill(arena, tmp_path)
    old = utcnow() - timedelta(days=10)
    with arena.engine.begin() as connection:  # a third of the history is ten days old
        ids = connection.execute(text(
            "SELECT id FROM battle WHERE anony ORDER BY id LIMIT 10")).scalars().all()
        for battle_id in ids:
            connection.execute(text("UPDATE battle SET created_at = :t WHERE id = :i"),
                               {"t": old, "i": battle_id})
            connection.execute(text("UPDATE vote SET created_at = :t WHERE battle_id = :i"),
                               {"t": old, "i": battle_id})
    since = utcnow() - timedelta(days=7)
    with arena.session() as session:
        report = exposure_report(session, since=since)
    shown, voted, n_battles, n_votes = direct_counts(arena, since)
    assert (report.battles, report.votes) == (n_battles, n_votes) == (20, n_votes)
    assert {r.model: r.battles for r in report.models} == shown
    assert {r.model: r.votes for r in report.models if r.votes} == voted


def test_the_api_serves_the_same_report(arena: Arena, tmp_path: Path) -> None:
    fill(arena, tmp_path)
    with arena.session() as session:
        expected = exposure_report(session).as_dict()
    with start_server(arena) as server:
        body = httpx.get(f"{server.url}/api/leaderboard/exposure").json()
        assert body == expected
        bad = httpx.get(f"{server.url}/api/leaderboard/exposure", params={"since": "soon"})
        assert bad.status_code == 422 and "since" in bad.text


def test_the_readme_exposure_command_works(arena: Arena, tmp_path: Path) -> None:
    """The README's curl line, sent to a real server (its host and port are the README's
    defaults; the path and query are taken as written)."""
    from tests.test_config import readme_block

    line = readme_block("### Which pairs are drawn")[0]
    url = re.search(r"'localhost:7860(/[^']*)'", line).group(1)
    fill(arena, tmp_path)
    with start_server(arena) as server:
        response = httpx.get(server.url + url)
    assert response.status_code == 200
    assert {m["model"] for m in response.json()["models"]} == set(MODELS)


def test_the_public_route_serves_a_cached_report_for_a_while(arena: Arena,
                                                            tmp_path: Path) -> None:
    fill(arena, tmp_path)
    with start_server(arena) as server:
        first = httpx.get(f"{server.url}/api/leaderboard/exposure").json()
        with arena.session() as session:  # one more battle, by another voter
            services.start_battle(session, voter=Voter(id="late", ip_hash="h"),
                                  limits=NO_LIMITS)
        assert httpx.get(f"{server.url}/api/leaderboard/exposure").json() == first
    with arena.session() as session:
        assert exposure_report(session).battles == first["battles"] + 1
