"""The board kept current without re-reading every vote: segments for a starting process,
flag changes applied within a poll, and always equal to a full recount."""

from __future__ import annotations

import io
import json
import threading

import numpy as np
from sqlalchemy import event
from sqlmodel import select

from arena.context import Arena
from arena.models import Battle, BoardSegment, Vote
from arena.services.board_segments import chain
from arena.services.counting import REASONS, note_flags_changed
from arena.services.flags import flag_voter, set_battle_flag, unflag_voter
from arena.services.leaderboard import LeaderboardCache, View
from arena.services.leaderboard_store import FLAGS, Snapshot, VoteStore
from tests.leaderboard.factories import Spec, add_votes, random_specs, reorder_last_two
from tests.utils.waiting import wait_until

EVERYONE = View(anony_only=False, include_flagged=True, include_suspicious=True,
                include_too_fast=True, include_seen_named=True)


def canonical(snap: Snapshot) -> dict[int, tuple]:
    """Each held vote by id, its columns decoded to names (code books differ by process);
    a live prompt as the lowest vote id asked it and its vote count."""
    c = snap.cols
    first_asked: dict[int, int] = {}
    for code, vote_id in zip(c["prompt"].tolist(), c["ids"].tolist(), strict=True):
        first_asked[code] = min(first_asked.get(code, vote_id), vote_id)
    counts = snap.prompt_counts()

    def name(book: tuple[str, ...], code: int) -> str | None:
        return book[code] if code >= 0 else None

    def prompt(code: int) -> tuple[int, int] | None:
        return (first_asked[code], int(counts[code])) if code >= 0 else None

    return {
        int(c["ids"][k]): (
            snap.models[c["a"][k]], snap.models[c["b"][k]], int(c["outcome"][k]),
            bool(c["anony"][k]), int(c["language"][k]), name(snap.categories, c["category"][k]),
            bool(c["multi"][k]), bool(c["bothbad"][k]), name(snap.sources, c["source"][k]),
            *(bool(c[reason][k]) for reason in REASONS),
            tuple(snap.style[k].tolist()), prompt(int(c["prompt"][k])),
        )
        for k in range(snap.n)
    }  # fmt: skip


def recount(arena: Arena) -> dict[int, tuple]:
    """Every vote read from the database now, flags included (no segments, no log)."""
    fresh = VoteStore(arena.engine)
    fresh._read_range(0)
    return canonical(fresh._make_snapshot())


def battle_ids(arena: Arena) -> list[str]:
    with arena.session() as session:
        return list(session.exec(select(Battle.id).order_by(Battle.created_at)).all())


def test_flags_changed_after_the_vote_reach_the_board_on_the_next_poll(arena: Arena) -> None:
    add_votes(arena, [Spec("alpha", "bravo", "model_a")] * 3 + [Spec("bravo", "alpha", "tie")])
    add_votes(arena, [Spec("alpha", "charlie", "model_b")] * 2)
    with arena.session() as session:  # two votes by one voter
        for battle in session.exec(select(Battle).where(Battle.model_b == "charlie")):
            battle.voter_id = "voter-x"
            session.add(battle)
        session.commit()
    cache = arena.leaderboard
    assert cache.store.reload_seconds >= 600  # no reload: the log does it
    assert cache.board().total_votes == 6
    first = battle_ids(arena)[0]
    with arena.session() as session:
        set_battle_flag(session, first, True)
    assert cache.board().total_votes == 5
    with arena.session() as session:
        flag_voter(session, "voter-x", "test")
    assert cache.board().total_votes == 3
    with arena.session() as session:
        unflag_voter(session, "voter-x")
        set_battle_flag(session, first, False)
    assert cache.board().total_votes == 6
    assert canonical(cache.store.sync()) == recount(arena)


def test_a_poll_with_nothing_new_is_one_query_and_a_new_vote_still_arrives(arena: Arena) -> None:
    """Every GET of the board polls the store: with nothing new, one round trip (it
    fetched the last 1,000 vote ids and the last 100 flag-change ids, in two)."""
    add_votes(arena, [Spec("alpha", "bravo", "model_a")] * 1200)
    store = VoteStore(arena.engine)
    store.sync()
    statements: list[str] = []

    def note(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(arena.engine, "before_cursor_execute", note)
    try:
        store.sync()
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
        add_votes(arena, [Spec("bravo", "alpha", "tie")])
        with arena.session() as session:
            set_battle_flag(session, battle_ids(arena)[0], True)
        assert store.sync().n == 1201
    finally:
        event.remove(arena.engine, "before_cursor_execute", note)
    assert canonical(store.sync()) == recount(arena)


def test_a_store_equals_a_full_recount_after_concurrent_votes_and_flags(arena: Arena) -> None:
    """Concurrent writers, votes committed out of id order, flags and unflags (battle,
    voter, the audit's any-vote change), identity leaks, too-fast and imported votes."""
    cache = LeaderboardCache(arena.engine)
    add_votes(arena, random_specs(40, seed=1))
    cache.store.sync()
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            cache.store.sync()

    poller = threading.Thread(target=poll)
    poller.start()
    writers = [threading.Thread(target=add_votes, args=(arena, random_specs(
        25, seed=10 + k, identity_leak=k == 1, source="dataset" if k == 2 else None)))
        for k in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    stop.set()
    poller.join()

    early_id, hidden = reorder_last_two(arena)  # committed after a higher id was read
    cache.store.sync()
    with arena.session() as session:
        session.add(Vote(id=early_id, too_fast=True, **hidden))
        session.commit()

    ids = battle_ids(arena)
    with arena.session() as session:
        set_battle_flag(session, ids[3], True)
        set_battle_flag(session, ids[5], True)
        set_battle_flag(session, ids[5], False)
        flag_voter(session, "factory", "every factory vote")
    cache.store.sync()
    assert cache.board(View()).total_votes == 0  # the factory voter cast them all
    with arena.session() as session:
        unflag_voter(session, "factory")
        votes = session.exec(select(Vote).order_by(Vote.id).limit(4)).all()
        for vote in votes:  # the audit: suspicious votes, logged as "any may have changed"
            vote.suspicious = True
            session.add(vote)
        note_flags_changed(session)
        session.commit()
    snap = cache.store.sync()
    assert canonical(snap) == recount(arena)
    assert snap.n == 40 + 100 + 2
    assert cache.board(EVERYONE).total_votes == 142


def test_a_process_starting_later_reads_segments_and_shows_the_same_board(
        arena: Arena) -> None:
    writer = LeaderboardCache(arena.engine, write_engine=arena.engine)
    writer.store.segment_votes, writer.store.settle_seconds = 50, 0.0
    add_votes(arena, random_specs(180, seed=3))
    writer.store.sync()
    third = _nth_vote_id(arena, 150)
    wait_until(lambda: writer.store.sync() and _chain(arena) and _chain(arena)[-1][2] >= third,
               timeout=30, what="three segments stored")
    segments = _chain(arena)
    assert [high - low > 0 for _, low, high in segments] == [True] * len(segments) >= [True] * 3
    with arena.session() as session:  # flags changed after a segment holds the votes
        set_battle_flag(session, battle_ids(arena)[0], True)
        voters = session.exec(select(Vote).order_by(Vote.id).limit(3)).all()
        for vote in voters:
            vote.suspicious = True
            session.add(vote)
        note_flags_changed(session)
        session.commit()
    add_votes(arena, random_specs(7, seed=4))  # votes after the last segment

    later = LeaderboardCache(arena.engine)
    snap = later.store.sync()
    assert later.store._segment_end == segments[-1][2]  # it started from the segments
    assert canonical(snap) == recount(arena) == canonical(writer.store.sync())
    for view in (View(), View(style_control=True), EVERYONE, View(category="coding")):
        mine, theirs = later.board(view), writer.board(view)
        assert mine.total_votes == theirs.total_votes
        assert [(r.model, round(r.rating, 6)) for r in mine.rows] == [
            (r.model, round(r.rating, 6)) for r in theirs.rows]


def test_segments_of_a_store_that_held_votes_out_of_id_order(arena: Arena) -> None:
    """A writer whose rows are no longer in id order (a vote committed after a higher id
    was read) still stores segments of exactly their id ranges, in id order."""
    writer = VoteStore(arena.engine, write_engine=arena.engine, segment_votes=30,
                       settle_seconds=0.0)
    add_votes(arena, random_specs(80, seed=6))
    early_id, hidden = reorder_last_two(arena)
    writer.sync()  # holds the later id; starts the first segment
    with arena.session() as session:
        session.add(Vote(id=early_id, **hidden))
        session.commit()
    for _ in range(50):
        writer.sync()
        if len(_chain(arena)) >= 2:
            break
        threading.Event().wait(0.1)
    assert not writer._ids_sorted  # the case under test
    segments = sorted(_segments(arena), key=lambda s: s.low_id)
    assert len(segments) >= 2 and segments[0].low_id == 0
    later = VoteStore(arena.engine)
    snap = later.sync()
    assert later._segment_end == segments[-1].high_id
    assert canonical(snap) == recount(arena) == canonical(writer.sync())


def test_two_writers_store_one_chain(arena: Arena) -> None:
    add_votes(arena, random_specs(120, seed=8))
    stores = [VoteStore(arena.engine, write_engine=arena.engine, segment_votes=40,
                        settle_seconds=0.0) for _ in range(2)]
    for _ in range(30):
        for store in stores:
            store.sync()
        if len(_chain(arena)) >= 3:
            break
        threading.Event().wait(0.1)
    with arena.session() as session:
        rows = session.exec(select(BoardSegment.low_id, BoardSegment.high_id)
                            .order_by(BoardSegment.low_id)).all()
    assert len(rows) == 3 and rows[0][0] == 0
    assert all(prev[1] == nxt[0] for prev, nxt in zip(rows, rows[1:], strict=False))
    assert sum(s.votes for s in _segments(arena)) == 120


def _chain(arena: Arena) -> list[tuple[int, int, int]]:
    with arena.read_session() as session:
        return chain(session)


def _nth_vote_id(arena: Arena, n: int) -> int:
    with arena.session() as session:
        return int(np.sort(session.exec(select(Vote.id)).all())[n - 1])


def _segments(arena: Arena) -> list[BoardSegment]:
    with arena.session() as session:
        return list(session.exec(select(BoardSegment)).all())


def test_segments_stored_in_the_old_layout_still_load(arena: Arena) -> None:
    """Segments written before 2026-12-01 hold a boolean column per flag, both answers'
    raw style counts and the prompt keys themselves in the books; a process of this
    version reads them into the same store."""
    add_votes(arena, random_specs(60, seed=9))
    writer = VoteStore(arena.engine)
    writer.sync()
    high = _nth_vote_id(arena, 40)
    segment = writer.segment(0, high)
    with arena.session() as session:  # the raw counts behind the store's differences
        rows = session.exec(select(Vote.id, Battle.style, Battle.prompt_hash)
                            .join(Battle, Battle.id == Vote.battle_id)).all()
        counts = {vote_id: style for vote_id, style, _ in rows}
        keys = {vote_id: key for vote_id, _, key in rows}
    ids = segment.cols["ids"].tolist()
    old = {name: column for name, column in segment.cols.items() if name != "bits"}
    old |= {name: (segment.cols["bits"] & (1 << k)) != 0 for k, name in enumerate(FLAGS)}
    old["style_a"] = np.array([counts[i]["a"] for i in ids], dtype=np.float32)
    old["style_b"] = np.array([counts[i]["b"] for i in ids], dtype=np.float32)
    buffer = io.BytesIO()
    by_code = {int(code): keys[i] for i, code in zip(ids, segment.cols["prompt"], strict=True)}
    assert len(by_code) > 5  # the segment holds several live prompts
    old_books = segment.books | {"prompts": [by_code[k] for k in range(len(segment.prompts))]}
    books = np.frombuffer(json.dumps(old_books).encode(), dtype=np.uint8)
    np.savez(buffer, **old, books=books, bounds=np.array([0, high], dtype=np.int64))
    with arena.session() as session:
        session.add(BoardSegment(low_id=0, high_id=high, votes=segment.votes,
                                 data=buffer.getvalue()))
        session.commit()

    later = VoteStore(arena.engine)
    snap = later.sync()
    assert later._segment_end == high
    assert canonical(snap) == recount(arena)
