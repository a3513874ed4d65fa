"""Judge Copilot in a real browser: closed before the vote, the judge's comparison after
it, in the voter's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena.config import load_settings
from arena.context import Arena
from tests.utils.factories import import_small_set
from tests.utils.fake_judge import FakeJudge, serve_fake_judge
from tests.utils.server import start_server

pytestmark = pytest.mark.browser

TEXTS = {
    "en-US": ("Ask the judge", "opens after your vote", "The judge's comparison",
              ("One is more complete.", "Equally good.")),
    "zh-CN": ("听听评审模型的看法", "投票之后即可查看", "评审模型的比较",
              ("其中一个回答更完整。", "两个回答同样好。")),
}


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
                page.wait_for_selector("#battle-vote-a:not([disabled])")
                page.get_by_text(button).click()
                page.wait_for_function(
                    f"document.querySelector('#battle-copilot-text').innerText"
                    f".includes('{closed}')")
                page.click("#battle-vote-a")
                page.wait_for_function(
                    "document.querySelector('#battle-reveal').innerText.length > 0")
                page.get_by_text(button).click()
                page.wait_for_function(
                    "document.querySelector('#battle-copilot-text').innerText.includes('[[')")
                text = page.inner_text("#battle-copilot-text")
        finally:
            arena.close()
    assert head in text and any(e in text for e in explanations)
    assert not any(m in text for m in ("alpha-7b", "bravo-13b", "charlie-70b"))
