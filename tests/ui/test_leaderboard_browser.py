"""The leaderboard tab in a real browser: views, style control and plotly plots."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.leaderboard.factories import MODELS, add_votes, random_specs

pytestmark = pytest.mark.browser
PLOTS = ("ratings", "history", "winfraction", "predicted", "counts")


def summary_votes(page) -> int:
    text = page.inner_text("#leaderboard-summary")
    return int(re.search(r"([\d,]+) votes", text).group(1).replace(",", ""))


def test_leaderboard_views_style_control_and_plots(server, new_page, tmp_path: Path) -> None:
    add_votes(server.arena, random_specs(240, seed=7))
    bootstrap = server.arena.bootstrap.compute()  # as the schedule of `arena serve` would
    page = new_page(server.url)
    assert "charlie" not in page.content()  # nothing about models before the tab is opened
    page.get_by_role("tab", name="Leaderboard").click()
    page.wait_for_function(
        "document.querySelector('#leaderboard-table').innerText.includes('charlie')")
    table = page.inner_text("#leaderboard-table")
    assert all(model in table for model in MODELS) and "Rank (UB)" in table
    assert "Bootstrap 95% CI" in table
    assert f"{bootstrap.rounds} rounds" in page.inner_text("#leaderboard-notes")
    for name in PLOTS:
        page.wait_for_selector(f"#leaderboard-plot-{name} .js-plotly-plot svg.main-svg",
                               state="attached")
    overall = summary_votes(page)

    page.click("#leaderboard-category input")
    page.get_by_role("option", name="coding", exact=True).click()
    page.wait_for_function(
        f"!document.querySelector('#leaderboard-summary').innerText.includes('{overall} votes')")
    coding = summary_votes(page)
    assert 0 < coding < overall

    page.click("#leaderboard-style input")
    page.wait_for_function(
        "document.querySelector('#leaderboard-style-coefficients').innerText.includes('length')")
    assert "Odds ratio" in page.inner_text("#leaderboard-style-coefficients")
    assert summary_votes(page) == coding
    page.click("#leaderboard-category input")  # back to every category, controlled for
    page.get_by_role("option", name="All", exact=True).click()
    page.locator("#leaderboard-controls").get_by_label("Category").check()
    page.wait_for_function(
        "document.querySelector('#leaderboard-style-coefficients').innerText"
        ".includes('category=coding')")
    coefficients = page.inner_text("#leaderboard-style-coefficients")
    assert "Controlled for category" in coefficients and "length" in coefficients
    assert summary_votes(page) == overall
    rows = httpx.get(f"{server.url}/api/leaderboard", params={  # the view on the page
        "baseline": "charlie", "style_control": "true", "control": "category"}).json()
    expected = sorted({f"{r['win_rate_vs_baseline']:.1%}" for r in rows})
    page.click("#leaderboard-baseline input")  # OpenCompass's column: P(win) vs a baseline
    page.get_by_role("option", name="charlie", exact=True).click()
    page.wait_for_function(  # every model's chance against charlie, charlie's own 50.0%
        f"{expected!r}.every(x => document.querySelector('#leaderboard-table')"
        ".innerText.includes(x))")
    assert "50.0%" in expected
    assert "P(win) vs baseline" in page.inner_text("#leaderboard-table")
    page.wait_for_selector("#leaderboard-plot-ratings .js-plotly-plot svg.main-svg",
                           state="attached")
    assert "charlie" in page.inner_text("#leaderboard-table")
    page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)
    assert (tmp_path / "leaderboard.png").stat().st_size > 10_000


def test_the_exposure_view_shows_shares_next_to_the_intended_ones(server, new_page,
                                                                  tmp_path: Path) -> None:
    from arena.services.exposure_report import exposure_report
    from tests.services.test_exposure_report import fill

    fill(server.arena, tmp_path)
    page = new_page(server.url)
    page.wait_for_selector("#battle-vote-a", state="visible")  # the page's own battle first
    page.get_by_role("tab", name="Leaderboard").click()
    page.get_by_text("How battles were sampled").click()
    page.wait_for_function(
        "document.querySelector('#exposure-table').innerText.includes('bravo')")
    with server.arena.session() as session:
        report = exposure_report(session)
    assert report.battles == 31  # 30 drawn by weight, the page's one by the arena's policy
    table = page.inner_text("#exposure-table")
    assert "Intended share" in table
    cells = [c.strip() for c in table.split("\n") if c.strip()]
    for row in report.models:  # each model's cells follow its name, in column order
        start = cells.index(row.model)
        assert cells[start + 1:start + 6] == [
            str(row.battles), f"{row.battle_share:.1%}", str(row.votes),
            f"{row.vote_share:.1%}", f"{row.intended_share:.1%}"]
    assert "31 anonymous battles" in page.inner_text("#exposure-summary")
