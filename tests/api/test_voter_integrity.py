"""Who may vote, how often, and how fast: forged cookies, API keys, limits, too-fast votes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from arena.app import create_app
from arena.config import LimitSettings, load_settings
from arena.context import Arena
from arena.models import Battle, Vote
from arena.services.api_keys import create_key, revoke_key
from arena.services.voters import VOTER_COOKIE, sign_voter_id
from tests.utils.factories import import_small_set
from tests.utils.limits import start_of_a_minute_window
from tests.utils.server import LiveServer, start_server

ON = {"enabled": True}  # the default limits; the tests' config turns them off


@contextmanager
def arena_server(database_url: str, tmp_path: Path, **settings: object
                 ) -> Iterator[LiveServer]:
    arena = Arena.open(load_settings(database_url=database_url, battle={"load_demo": False},
                                     **settings), migrate=True)
    import_small_set(arena, tmp_path, questions=10)
    try:
        with start_server(arena) as server:
            yield server
    finally:
        arena.close()


def counts(arena: Arena) -> tuple[int, int]:
    with arena.session() as session:
        return (session.exec(select(func.count()).select_from(Battle)).one(),
                session.exec(select(func.count()).select_from(Vote)).one())


def test_cookie_is_signed_and_forged_ones_get_a_fresh_id(database_url, tmp_path) -> None:
    with arena_server(database_url, tmp_path) as server:
        arena = server.arena
        with httpx.Client(base_url=server.url) as browser:
            battle = browser.post("/api/battles", json={}).json()
            cookie = browser.cookies[VOTER_COOKIE]
            voter_id, _, signature = cookie.rpartition(".")
            assert len(signature) == 22 and cookie == sign_voter_id(arena.salt, voter_id)
            assert signature != "A" * 22
        with arena.session() as session:
            assert session.get(Battle, battle["battle_id"]).voter_id == voter_id
        last = signature[-1]
        for forged in (voter_id,  # unsigned
                       f"{voter_id}.{'A' * 22}",  # wrong signature
                       sign_voter_id("another-arena-secret", voter_id),  # foreign
                       cookie[:-1] + ("B" if last == "A" else "A")):  # one character off
            answer = httpx.post(f"{server.url}/api/battles/{battle['battle_id']}/vote",
                                json={"winner": "tie"}, cookies={VOTER_COOKIE: forged})
            assert answer.status_code == 403, forged  # not the battle's voter
            fresh = answer.cookies[VOTER_COOKIE].rpartition(".")[0]
            assert fresh != voter_id
        assert counts(arena) == (1, 0)


def test_voter_header_needs_a_key_and_a_good_id(database_url, tmp_path) -> None:
    with arena_server(database_url, tmp_path) as server:
        arena = server.arena
        with arena.session() as session:
            key = create_key(session, "load-test")
            other = create_key(session, "to-revoke")
            revoke_key(session, "to-revoke")
        no_key = httpx.post(f"{server.url}/api/battles", json={},
                            headers={"X-Voter-Id": "script-voter-1"})
        assert no_key.status_code == 401 and "API key" in no_key.json()["detail"]
        for bad_key in ("arena_not-a-real-key", other, key + "x"):
            refused = httpx.post(f"{server.url}/api/battles", json={}, headers={
                "X-Voter-Id": "script-voter-1", "Authorization": f"Bearer {bad_key}"})
            assert refused.status_code == 401
        for malformed in ("short", "x" * 100_000, "bad id with spaces", "ünïcödé-voter"):
            answer = httpx.post(f"{server.url}/api/battles", json={}, headers={
                "X-Voter-Id": malformed.encode("utf-8"),
                "Authorization": f"Bearer {key}"})
            assert answer.status_code in (422, 431), malformed[:20]  # 431: header too large
        assert counts(arena) == (0, 0)
        headers = {"X-Voter-Id": "script-voter-1", "Authorization": f"Bearer {key}"}
        battle = httpx.post(f"{server.url}/api/battles", json={}, headers=headers)
        assert battle.status_code == 201
        vote = httpx.post(f"{server.url}/api/battles/{battle.json()['battle_id']}/vote",
                          json={"winner": "tie"}, headers=headers)
        assert vote.status_code == 200
        with arena.session() as session:
            assert session.exec(select(Battle.voter_id)).one() == "script-voter-1"


def test_over_a_limit_is_429_with_retry_after_and_stores_nothing(database_url,
                                                                 tmp_path) -> None:
    limits = {**ON, "battles_per_minute_voter": 3, "votes_per_minute_voter": 2}
    with arena_server(database_url, tmp_path, limits=limits) as server:
        arena = server.arena
        start_of_a_minute_window()
        with httpx.Client(base_url=server.url) as browser:
            battles = [browser.post("/api/battles", json={}) for _ in range(4)]
            assert [b.status_code for b in battles] == [201, 201, 201, 429]
            refused = battles[-1]
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            assert "at most 3 per minute" in refused.json()["detail"]
            assert counts(arena) == (3, 0)
            votes = [browser.post(f"/api/battles/{b.json()['battle_id']}/vote",
                                  json={"winner": "tie"}) for b in battles[:3]]
            assert [v.status_code for v in votes] == [200, 200, 429]
            assert "Retry-After" in votes[-1].headers
            assert counts(arena) == (3, 2)
        with arena.session() as session:  # the refused vote left its battle votable
            assert session.exec(select(func.count()).select_from(Battle).where(
                Battle.status == "ready")).one() == 1


def test_many_voter_ids_behind_one_address_share_its_limit(database_url, tmp_path) -> None:
    limits = {**ON, "battles_per_minute_ip": 5}
    with arena_server(database_url, tmp_path, limits=limits) as server:
        statuses = []
        start_of_a_minute_window()
        for _ in range(7):  # a new cookie jar each time: a fresh voter id per battle
            with httpx.Client(base_url=server.url) as fresh:
                statuses.append(fresh.post("/api/battles", json={}).status_code)
        assert statuses == [201] * 5 + [429] * 2


def test_limits_hold_across_two_processes_on_postgresql(tmp_path) -> None:
    from tests.utils.postgres import fresh_postgres_database

    with fresh_postgres_database() as url:
        settings = load_settings(database_url=url, battle={"load_demo": False},
                                 limits={**ON, "battles_per_minute_voter": 4})
        first = Arena.open(settings, migrate=True)
        second = Arena.open(settings)  # another `arena serve` on the same database
        import_small_set(first, tmp_path, questions=5)
        try:
            with start_server(first) as one, start_server(second) as two:
                start_of_a_minute_window()
                with httpx.Client() as browser:  # one voter (cookie) on both processes
                    codes = [browser.post(f"{url_}/api/battles", json={}).status_code
                             for url_ in (one.url, two.url) * 3]
            assert codes == [201, 201, 201, 201, 429, 429]
            assert counts(first) == (4, 0)
        finally:
            first.close()
            second.close()


def test_a_vote_faster_than_reading_is_stored_flagged_and_left_out(database_url,
                                                                   tmp_path) -> None:
    limits = {"too_fast_min_seconds": 30.0}  # nobody votes on these answers within 30 s
    with arena_server(database_url, tmp_path, limits=limits) as server:
        arena = server.arena
        with httpx.Client(base_url=server.url) as browser:
            battle = browser.post("/api/battles", json={}).json()
            vote = browser.post(f"/api/battles/{battle['battle_id']}/vote",
                                json={"winner": "model_a"})
        assert vote.status_code == 200
        with arena.session() as session:
            assert session.exec(select(Vote.too_fast)).one() is True
        assert httpx.get(f"{server.url}/api/leaderboard").json() == []
        counted = httpx.get(f"{server.url}/api/leaderboard",
                            params={"include_too_fast": "true"}).json()
        assert sum(r["votes"] for r in counted) == 2


def test_too_fast_threshold_grows_with_the_answers() -> None:
    from arena.services.limits import too_fast

    rule = LimitSettings(too_fast_min_seconds=1.0, too_fast_seconds_per_1000_chars=2.0)
    assert too_fast(0.5, 0, rule) and not too_fast(1.5, 0, rule)
    assert too_fast(4.0, 2000, rule) and not too_fast(5.5, 2000, rule)  # 1 s + 2 x 2 s


def test_trusted_proxy_forwarded_address(database_url, tmp_path) -> None:
    from arena.services.voters import RequestFacts, client_ip, trusted_networks

    trusted = trusted_networks(["127.0.0.1", "10.0.0.0/8"])
    facts = RequestFacts("127.0.0.1", {"x-forwarded-for": "203.0.113.9, 10.1.2.3"}, None)
    assert client_ip(facts, trusted) == "203.0.113.9"
    untrusted = RequestFacts("198.51.100.7", {"x-forwarded-for": "203.0.113.9"}, None)
    assert client_ip(untrusted, trusted) == "198.51.100.7"  # a client cannot claim an address
    assert client_ip(facts, ()) == "127.0.0.1"
    with arena_server(database_url, tmp_path,
                      identity={"trusted_proxies": ["127.0.0.1"],
                                "login_header": "X-Forwarded-User"}) as server:
        arena = server.arena
        for user in ("annotator-ann", "annotator-ann", "annotator-bob"):
            with httpx.Client(base_url=server.url) as fresh:
                fresh.post("/api/battles", json={}, headers={
                    "X-Forwarded-For": "203.0.113.9", "X-Forwarded-User": user})
        with arena.session() as session:
            rows = session.exec(select(Battle.voter_id, Battle.ip_hash)).all()
        assert sorted(v for v, _ in rows) == ["user-annotator-ann", "user-annotator-ann",
                                              "user-annotator-bob"]
        from arena.services.voters import hash_ip

        assert {ip for _, ip in rows} == {hash_ip(arena.salt, "203.0.113.9")}


def test_invalid_trusted_proxy_names_the_key() -> None:
    from arena.config import ConfigError

    with pytest.raises(ConfigError, match=r"identity.trusted_proxies"):
        load_settings(identity={"trusted_proxies": ["not-an-address"]})


def test_create_app_needs_no_network(database_url) -> None:
    arena = Arena.open(load_settings(database_url=database_url), migrate=True)
    try:
        assert create_app(arena) is not None
    finally:
        arena.close()
