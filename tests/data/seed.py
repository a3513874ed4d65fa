"""Votes as the app makes them (battles drawn and voted through the services), plus
the cases an export must handle: a live battle with latencies, a flagged battle,
an identity leak, votes from known IPs that must never appear in an export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from arena import services
from arena.context import Arena
from arena.models import Battle, Vote
from arena.services.voters import Voter, hash_ip
from tests.utils.factories import import_small_set
from tests.utils.limits import NO_LIMITS

IPS = ("203.0.113.7", "198.51.100.23", "2001:db8::42")
VOTER_IDS = ("voter-alpha-0001", "voter-bravo-0002", "voter-charlie-03")
WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
LIVE_PROMPT = "My name is Jane Roe, write my CV"


def seed_votes(arena: Arena, tmp_path: Path, *, battles: int = 24) -> None:
    # 12 prompts for 8 battles per voter: anonymous draws prefer prompts the voter has not
    # seen named (arena.services.exposure), so no seeded vote is `seen_named`.
    import_small_set(arena, tmp_path, questions=12)
    salt = arena.salt
    ids = []
    for k in range(battles):
        voter = Voter(id=VOTER_IDS[k % 3], ip_hash=hash_ip(salt, IPS[k % 3]), ui_language="en")
        with arena.session() as session:
            if k % 4 == 3:
                shown = services.start_battle(session, limits=NO_LIMITS, voter=voter,
                                              models=("alpha-7b", "charlie-70b"))
            else:
                shown = services.start_battle(session, limits=NO_LIMITS, voter=voter)
            services.record_vote(session, limits=NO_LIMITS,
                                 battle_id=shown.battle_id, winner=WINNERS[k % 4],
                                 voter=voter)
            ids.append(shown.battle_id)
    with arena.session() as session:
        session.get(Battle, ids[0]).flagged = True
        session.get(Battle, ids[1]).identity_leak = True
        live = Battle(
            id="live" + "0" * 28, anony=True, mode="live", model_a="alpha-7b",
            model_b="bravo-13b", category="chat", language="en",
            conversation_a=[{"role": "user", "content": LIVE_PROMPT},
                            {"role": "assistant", "content": "Here is a CV."}],
            conversation_b=[{"role": "user", "content": LIVE_PROMPT},
                            {"role": "assistant", "content": "Sure: ..."}],
            status="voted", voter_id=VOTER_IDS[0], ip_hash=hash_ip(salt, IPS[0]),
            stats={side: [{"ttft_ms": 210.5, "latency_ms": latency, "prompt_tokens": 12,
                           "completion_tokens": 40, "chars": 160, "error": None}]
                   for side, latency in (("a", 1250.0), ("b", 500.5))},
        )
        session.add(live)
        session.flush()
        session.add(Vote(battle_id=live.id, winner="model_b", ip_hash=live.ip_hash,
                         created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)))
        session.commit()
