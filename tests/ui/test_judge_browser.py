"""The leaderboard's judge panel in a real browser: the judge's own board beside its
agreement with people, in the voter's language."""

from __future__ import annotations

import pytest

from arena.services.judging import run_judge_sync
from tests.judge.test_judge_run import MODELS, add_people_votes, judged  # noqa: F401 (a fixture)
from tests.utils.server import start_server

pytestmark = pytest.mark.browser


def open_judge_panel(page, tab: str, panel: str) -> None:
    page.get_by_role("tab", name=tab).click()
    page.get_by_text(panel).click()
    page.wait_for_function(
        "document.querySelector('#judge-agreement').innerText.includes('Spearman')")
    page.wait_for_function(
        "document.querySelector('#judge-board').innerText.includes('medium')")


def in_board_order(table: str) -> bool:
    """The judge prefers longer answers: long, medium, short, best first."""
    return table.index("long") < table.index("medium") < table.index("short")


def test_the_leaderboard_shows_the_judges_board_and_agreement(judged, new_page) -> None:  # noqa: F811
    arena, _, _ = judged
    add_people_votes(arena)
    run_judge_sync(arena, arena.settings.judges[0], concurrency=4)
    with start_server(arena) as server:
        page = new_page(server.url)
        open_judge_panel(page, "Leaderboard", "Judges beside people")
        text = page.inner_text("#judge-agreement")
        table = page.inner_text("#judge-board")
        summary = page.inner_text("#judge-board-summary")
    assert "1.000" in text  # Spearman and Kendall: the judge orders models as people do
    assert "50.0%" in text and "100.0%" in text  # agreement with and without ties
    assert "20.0%" in text  # position bias: 3 of 15 items
    assert all(model in table for model in MODELS) and in_board_order(table)
    assert all(column in table for column in ("Rank (UB)", "Rating", "95% CI", "Battles"))
    assert "30 verdicts of fake" in summary and "3 models" in summary


def test_the_judges_board_speaks_chinese(judged, new_page) -> None:  # noqa: F811
    arena, _, _ = judged
    run_judge_sync(arena, arena.settings.judges[0], concurrency=4)
    with start_server(arena) as server:
        page = new_page(server.url, locale="zh-CN")
        open_judge_panel(page, "排行榜", "评审模型与人工投票对比")
        page.wait_for_function(
            "document.querySelector('#judge-board').innerText.includes('评分')")
        table = page.inner_text("#judge-board")
        summary = page.inner_text("#judge-board-summary")
        text = page.inner_text("#judge-agreement")
        titles = page.inner_text("#judge-panel")
    assert all(model in table for model in MODELS) and in_board_order(table)
    assert all(column in table for column in ("排名（上界）", "模型", "95% 置信区间", "对战数"))
    assert "共 30 条裁决" in summary and "3 个模型" in summary
    assert "Spearman 等级相关系数" in text and "位置偏差" in text
    assert "评审模型自己的榜单" in titles and "与人工投票榜单对比" in titles
