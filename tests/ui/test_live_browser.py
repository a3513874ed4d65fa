"""Live battles in a real browser: tokens stream in; a failed answer shows in its panel."""

from __future__ import annotations

import pytest
from sqlmodel import select

from arena.models import Battle, Vote
from tests.utils.fake_openai import Script
from tests.utils.live import LIVE_MODELS, live_arena
from tests.utils.server import start_server

pytestmark = pytest.mark.browser

# The length of side a's answer while its vote buttons are still hidden (still streaming).
STREAMING_LENGTH = """() => {
    const answer = document.querySelector('#live-answer-a .bot.message');
    const button = document.querySelector('#live-vote-a');
    const voting = button !== null && button.checkVisibility();
    const length = answer ? answer.innerText.trim().length : 0;
    return !voting && length > %d ? length : null;
}"""


STREAMING_SCRIPTS = {name: Script(reply="streaming " * 3 + "done", tokens=40, token_delay=0.05)
                     for name in LIVE_MODELS}


def test_tokens_stream_into_both_panels_then_vote(database_url, new_page) -> None:
    with live_arena(database_url, STREAMING_SCRIPTS) as (arena, _), \
            start_server(arena) as server:
        stream_then_vote(new_page(server.url), arena)


def stream_then_vote(page, arena) -> None:
    """Part of each answer shows before the whole; the vote stores the streamed answer."""
    page.fill("#live-input textarea", "Tell me something")
    page.click("#live-send")
    # Part of the answer shows, then more of it, before the answer is complete.
    partial = page.wait_for_function(STREAMING_LENGTH % 0).json_value()
    page.wait_for_function(STREAMING_LENGTH % partial)
    page.wait_for_selector("#live-vote-a", state="visible")
    body = page.inner_text("body")
    assert not any(name in body for name in LIVE_MODELS)
    page.click("#live-vote-b")
    page.wait_for_function(
        "document.querySelector('#live-reveal').innerText.includes('Model A was')")
    with arena.session() as session:
        battle, vote = session.exec(select(Battle, Vote).join(Vote)).one()
    assert vote.winner == "model_b" and battle.mode == "live"
    assert battle.conversation_a[0]["content"] == "Tell me something"
    assert battle.conversation_a[1]["content"] == "streaming streaming streaming done " * 10


def test_failed_answer_is_shown_and_the_battle_cannot_be_voted(database_url, new_page) -> None:
    scripts = {LIVE_MODELS[0]: Script(reply="partial answer then silence " * 3, stall_after=4),
               LIVE_MODELS[1]: Script(reply="a complete answer")}
    with live_arena(database_url, scripts) as (arena, _), start_server(arena) as server:
        page = new_page(server.url)
        page.fill("#live-input textarea", "Hello")
        page.press("#live-input textarea", "Enter")
        page.wait_for_function(
            "document.querySelector('#live-reveal').innerText.includes('cannot be voted')")
        with arena.session() as session:
            battle = session.exec(select(Battle)).one()
        failed = "a" if battle.model_a == LIVE_MODELS[0] else "b"
        other = "b" if failed == "a" else "a"
        assert "answer stopped midway" in page.inner_text(f"#live-answer-{failed}")
        assert "partial answer" in page.inner_text(f"#live-answer-{failed}")
        assert "a complete answer" in page.inner_text(f"#live-answer-{other}")
        assert not page.is_visible("#live-vote-a") and not page.is_visible("#live-vote-tie")
        assert battle.status == "failed"

        page.click("#live-new")
        page.wait_for_function(
            "document.querySelector('#live-reveal').innerText.trim() === ''")
        page.fill("#live-input textarea", "Another try")
        page.click("#live-send")
        page.wait_for_function(
            "document.querySelector('#live-answer-a').innerText.includes('Another try')")
        page.wait_for_function(
            "document.querySelector('#live-reveal').innerText.includes('cannot be voted')")
        with arena.session() as session:
            assert len(session.exec(select(Battle)).all()) == 2


def test_api_key_and_model_names_never_reach_the_browser(database_url, new_page,
                                                         monkeypatch) -> None:
    from tests.utils.recorder import TrafficRecorder

    secret = "sk-browser-secret-9f8e7d6c5b4a"
    monkeypatch.setenv("ARENA_BROWSER_TEST_KEY", secret)
    recorders: list[TrafficRecorder] = []

    def wrap(app):
        recorders.append(TrafficRecorder(app))
        return recorders[-1]

    with live_arena(database_url, model_options={"api_key_env": "ARENA_BROWSER_TEST_KEY"}) as (
            arena, fake), start_server(arena, wrap=wrap) as server:
        page = new_page(server.url)
        page.fill("#live-input textarea", "Hello")
        page.click("#live-send")
        page.wait_for_selector("#live-vote-a", state="visible")
        before = recorders[0].text()
        assert not any(name in before for name in LIVE_MODELS)
        assert "Hello! Here is a careful answer" in before  # the recording saw the stream
        page.click("#live-vote-tie")
        page.wait_for_function(
            "document.querySelector('#live-reveal').innerText.includes('Model A was')")
        assert all(name in recorders[0].text() for name in LIVE_MODELS)
        assert secret not in recorders[0].text()
        assert {r["headers"]["authorization"] for r in fake.requests} == {f"Bearer {secret}"}


def test_two_voters_stream_live_answers_at_the_same_time(tmp_path, new_page) -> None:
    """One voter's long answer does not hold another's back (Gradio's default would run
    the live event for one voter at a time per process)."""
    slow = {name: Script(reply="slowly " * 10, tokens=300, token_delay=0.1)
            for name in LIVE_MODELS}  # 30 s per answer
    with live_arena(f"sqlite:///{tmp_path / 'arena.db'}", slow) as (arena, _), \
            start_server(arena) as server:
        first, second = new_page(server.url), new_page(server.url)
        for page in (first, second):
            page.fill("#live-input textarea", "Take your time")
            page.click("#live-send")
            page.wait_for_function(STREAMING_LENGTH % 0)
        # The second voter's answer is streaming while the first's still is.
        assert first.evaluate(STREAMING_LENGTH % 0) is not None
