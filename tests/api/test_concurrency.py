"""Many voters at once against one server: every vote lands exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlmodel import func, select

from arena.models import Battle, Vote
from tests.utils.factories import import_small_set
from tests.utils.keys import script_headers

THREADS = 20
VOTES_PER_THREAD = 50
WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")


def vote_many(url: str, key_headers: dict[str, str], worker: int) -> list[int]:
    statuses = []
    headers = {**key_headers, "X-Voter-Id": f"worker-{worker:03d}-voter"}
    with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
        for number in range(VOTES_PER_THREAD):
            battle = client.post("/api/battles", json={})
            battle.raise_for_status()
            vote = client.post(f"/api/battles/{battle.json()['battle_id']}/vote",
                               json={"winner": WINNERS[number % 4]})
            statuses.append(vote.status_code)
    return statuses


def test_1000_concurrent_votes_are_all_stored(server, tmp_path: Path) -> None:
    import_small_set(server.arena, tmp_path, questions=30)
    with ThreadPoolExecutor(THREADS) as pool:
        key_headers = script_headers(server.arena, "unused-voter")
        results = list(pool.map(lambda w: vote_many(server.url, key_headers, w), range(THREADS)))
    assert [s for statuses in results for s in statuses] == [200] * THREADS * VOTES_PER_THREAD
    with server.arena.session() as session:
        assert session.exec(select(func.count()).select_from(Vote)).one() == 1000
        assert session.exec(select(func.count()).select_from(Battle)
                            .where(Battle.status == "voted")).one() == 1000
        assert session.exec(select(func.count(func.distinct(Vote.battle_id)))).one() == 1000
