"""Judge Copilot in a real browser, on the battle tab and the live tab: closed before the
vote, the judge's comparison after it, in the voter's language."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import select

from arena.app import prepare
from arena.config import load_settings
from arena.context import Arena
from arena.models import Battle
from tests.utils.factories import import_small_set
from tests.utils.fake_judge import FakeJudge, serve_fake_judge
from tests.utils.fake_openai import FakeOpenAI, Script, serve_fake_openai
from tests.utils.live import LIVE_MODELS
from tests.utils.server import start_server

pytestmark = pytest.mark.browser

TEXTS = {
    "en-US": ("Ask the judge", "opens after your vote", "The judge's comparison",
              ("One is more complete.", "Equally good.")),
    "zh-CN": ("听听评审模型的看法", "投票之后即可查看", "评审模型的比较",
              ("其中一个回答更完整。", "两个回答同样好。")),
}
REVEALED = {"en-US": "Model A was", "zh-CN": "模型 A 是"}  # (not Gradio's progress timer)


@pytest.mark.parametrize("locale", list(TEXTS))
def test_the_judge_speaks_after_the_vote_in_the_voters_language(
        new_page, database_url: str, tmp_path: Path, locale: str) -> None:
    button, closed, head, explanations = TEXTS[locale]
    with serve_fake_judge(FakeJudge()) as url:
        judge = {"name": "helper", "base_url": url, "model": "judge"}
        arena = Arena.open(load_settings(database_url=database_url, judges=[judge],
                                         battle={"load_demo": False, "copilot": "helper"}),
                           migrate=True)
        import_small_set(arena, tmp_path)
        try:
            with start_server(arena) as server:
                page = new_page(server.url, locale=locale)
                page.wait_for_selector("#battle-vote-a", state="visible")
                page.get_by_text(button).click()
                page.wait_for_function(
                    f"document.querySelector('#battle-copilot-text').innerText"
                    f".includes('{closed}')")
                page.click("#battle-vote-a")
                page.wait_for_function(
                    f"document.querySelector('#battle-reveal').innerText"
                    f".includes('{REVEALED[locale]}')")
                page.get_by_text(button).click()
                page.wait_for_function(
                    "document.querySelector('#battle-copilot-text').innerText.includes('[[')")
                text = page.inner_text("#battle-copilot-text")
        finally:
            arena.close()
    assert head in text and any(e in text for e in explanations)
    assert not any(m in text for m in ("alpha-7b", "bravo-13b", "charlie-70b"))


LIVE_REPLIES = {LIVE_MODELS[0]: "A short reply.",
                LIVE_MODELS[1]: "A longer reply, with a reason or two."}
JUDGE_HEADS = {"en-US": "[User question]", "zh-CN": "[用户问题]"}


@contextmanager
def live_copilot_arena(database_url: str, *, before_vote: bool = False
                       ) -> Iterator[tuple[Arena, FakeJudge]]:
    """Live models answering LIVE_REPLIES, and the fake judge as the Copilot."""
    judge = FakeJudge()
    models = FakeOpenAI(scripts={f"id-{name}": Script(reply=reply)
                                 for name, reply in LIVE_REPLIES.items()})
    with serve_fake_judge(judge) as judge_url, serve_fake_openai(models) as models_url:
        arena = prepare(load_settings(
            database_url=database_url,
            judges=[{"name": "helper", "base_url": judge_url, "model": "judge"}],
            battle={"load_demo": False, "copilot": "helper",
                    "copilot_before_vote": before_vote},
            models=[{"name": name, "base_url": models_url, "model": f"id-{name}"}
                    for name in LIVE_MODELS]))
        try:
            yield arena, judge
        finally:
            arena.close()


def live_turn(page, prompt: str) -> None:
    page.fill("#live-input textarea", prompt)
    page.click("#live-send")
    page.wait_for_function(
        f"document.querySelector('#live-answer-a').innerText.includes('{prompt}')")
    page.wait_for_selector("#live-vote-a", state="visible")


@pytest.mark.parametrize("locale", list(TEXTS))
def test_in_the_live_tab_the_judge_compares_every_turn_after_the_vote(
        new_page, database_url: str, locale: str) -> None:
    _, closed, head, explanations = TEXTS[locale]
    with live_copilot_arena(database_url) as (arena, judge), start_server(arena) as server:
        page = new_page(server.url, locale=locale)
        live_turn(page, "First question?")
        page.click("#live-copilot")
        page.wait_for_function(
            f"document.querySelector('#live-copilot-text').innerText.includes('{closed}')")
        assert judge.bodies == []  # refused by the server: nothing went to the judge
        live_turn(page, "Second question?")  # the conversation goes on; the notice goes
        assert page.inner_text("#live-copilot-text").strip() == ""
        page.click("#live-vote-b")
        page.wait_for_function(
            f"document.querySelector('#live-reveal').innerText.includes('{REVEALED[locale]}')")
        page.click("#live-copilot")
        page.wait_for_function(
            "document.querySelector('#live-copilot-text').innerText.includes('[[')")
        text = page.inner_text("#live-copilot-text")
        with arena.session() as session:
            battle = session.exec(select(Battle)).one()
    assert head in text and any(e in text for e in explanations)
    assert battle.mode == "live" and battle.copilot_before_vote is False
    [body] = judge.bodies
    prompt = body["messages"][-1]["content"]
    # Both turns' questions and both sides' answers, in the voter's language...
    assert JUDGE_HEADS[locale] in prompt
    assert "[Turn 1] First question?\n\n[Turn 2] Second question?" in prompt
    for reply in LIVE_REPLIES.values():  # (as streamed: each word with its space)
        assert f"[Turn 1] {reply} \n\n[Turn 2] {reply}" in prompt
    # ...and never which models wrote them (the judge's request, nor what the voter reads).
    sent = json.dumps(body, ensure_ascii=False)
    assert not any(name in sent or name in text for name in LIVE_MODELS)


def test_in_the_live_tab_the_owner_may_open_the_judge_before_the_vote(
        new_page, database_url: str) -> None:
    with live_copilot_arena(database_url, before_vote=True) as (arena, judge), \
            start_server(arena) as server:
        page = new_page(server.url)
        live_turn(page, "Only question?")
        page.click("#live-copilot")
        page.wait_for_function(
            "document.querySelector('#live-copilot-text').innerText.includes('[[')")
        page.click("#live-vote-tie")
        page.wait_for_function(
            "document.querySelector('#live-reveal').innerText.includes('Model A was')")
        with arena.session() as session:
            battle = session.exec(select(Battle)).one()
    assert len(judge.bodies) == 1
    assert battle.status == "voted" and battle.copilot_before_vote is True
