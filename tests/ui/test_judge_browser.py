"""The leaderboard's judge panel in a real browser."""

from __future__ import annotations

import pytest

from arena.services.judging import run_judge_sync
from tests.judge.test_judge_run import add_people_votes, judged  # noqa: F401 (a fixture)
from tests.utils.server import start_server

pytestmark = pytest.mark.browser


def test_the_leaderboard_shows_the_judges_agreement(judged, new_page) -> None:  # noqa: F811
    arena, _, _ = judged
    add_people_votes(arena)
    run_judge_sync(arena, arena.settings.judges[0], concurrency=4)
    with start_server(arena) as server:
        page = new_page(server.url)
        page.get_by_role("tab", name="Leaderboard").click()
        page.get_by_text("Judges beside people").click()
        page.wait_for_function(
            "document.querySelector('#judge-agreement').innerText.includes('Spearman')")
        text = page.inner_text("#judge-agreement")
    assert "1.000" in text  # Spearman and Kendall: the judge orders models as people do
    assert "50.0%" in text and "100.0%" in text  # agreement with and without ties
    assert "20.0%" in text  # position bias: 3 of 15 items
