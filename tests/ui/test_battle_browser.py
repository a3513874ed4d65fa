"""A voter in a real browser: battle, reveal, next battle, leaderboard (side by side:
test_named_browser.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from arena.models import Battle, Vote
from tests.ui.conftest import SECRET_MODELS
from tests.utils.factories import import_small_set

pytestmark = pytest.mark.browser


@pytest.fixture
def arena_url(server, tmp_path: Path) -> str:
    import_small_set(server.arena, tmp_path, models=SECRET_MODELS)
    return server.url


def wait_for_battle(page, prefix: str = "battle") -> None:
    page.wait_for_selector(f"#{prefix}-answer-a .message")
    page.wait_for_selector(f"#{prefix}-answer-b .message")
    page.wait_for_selector(f"#{prefix}-vote-a", state="visible")


def stored_votes(server) -> list[tuple[Battle, Vote]]:
    with server.arena.session() as session:
        return list(session.exec(select(Battle, Vote).join(Vote).order_by(Vote.id)).all())


def test_vote_reveals_names_only_after_voting(server, arena_url, new_page) -> None:
    page = new_page(arena_url)
    wait_for_battle(page)
    assert page.inner_text("#battle-answer-a").count("Model A") >= 1
    body = page.inner_text("body")
    assert not any(name in body for name in SECRET_MODELS)

    page.click("#battle-vote-a")
    page.wait_for_function(
        "document.querySelector('#battle-reveal').innerText.includes('Model A was')")
    reveal = page.inner_text("#battle-reveal")
    [(battle, vote)] = stored_votes(server)
    assert f"Model A was {battle.model_a}" in reveal and f"Model B was {battle.model_b}" in reveal
    assert vote.winner == "model_a"
    cookie = next(c for c in page.context.cookies() if c["name"] == "arena_voter")
    assert battle.voter_id == cookie["value"].rpartition(".")[0]  # id.signature
    assert battle.conversation_a[1]["content"] in page.inner_text("#battle-answer-a")
    assert not page.is_visible("#battle-vote-b")

    page.click("#battle-next")
    page.wait_for_function("document.querySelector('#battle-reveal').innerText.trim() === ''")
    wait_for_battle(page)
    page.click("#battle-vote-tie")
    page.wait_for_function(
        "document.querySelector('#battle-reveal').innerText.includes('Model A was')")
    votes = stored_votes(server)
    assert len(votes) == 2 and votes[1][1].winner == "tie"
    assert votes[0][0].id != votes[1][0].id


def test_leaderboard_tab_lists_models_with_votes(server, arena_url, new_page) -> None:
    page = new_page(arena_url)
    wait_for_battle(page)
    page.click("#battle-vote-b")
    page.wait_for_function(
        "document.querySelector('#battle-reveal').innerText.includes('Model A was')")
    page.get_by_role("tab", name="Leaderboard").click()
    page.wait_for_function(
        "document.querySelector('#leaderboard-table').innerText.includes('100.0%')")
    table = page.inner_text("#leaderboard-table")
    [(battle, _)] = stored_votes(server)
    assert battle.model_b in table and battle.model_a in table


def test_chinese_browser_gets_chinese_labels_and_language_is_stored(
    server, arena_url, new_page
) -> None:
    page = new_page(arena_url, locale="zh-CN")
    wait_for_battle(page)
    assert "A 更好" in page.inner_text("#battle-vote-a")
    page.click("#battle-vote-a")
    page.wait_for_function(
        "document.querySelector('#battle-reveal').innerText.includes('模型 A 是')")
    [(battle, vote)] = stored_votes(server)
    assert battle.ui_language == "zh-CN" and vote.ui_language == "zh-CN"
    page.get_by_role("tab", name="排行榜").click()
    page.wait_for_function(
        "document.querySelector('#leaderboard-summary').innerText.includes('当前视图共')")
    assert "提示语言" in page.inner_text("#leaderboard-language")
    assert "仅匿名投票" in page.inner_text("#leaderboard-anony")
