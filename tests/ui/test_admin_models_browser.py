"""The owner's Live models tab in a real browser: status, last failure, a trial battle."""

from __future__ import annotations

import pytest
from sqlmodel import select

from arena.models import Battle
from tests.utils.fake_openai import Script
from tests.utils.live import LIVE_MODELS, live_arena
from tests.utils.server import start_server

pytestmark = pytest.mark.browser
TOKEN = "browser-owner-token-123"
ALPHA, BETA = LIVE_MODELS


def test_live_models_tab_shows_state_and_runs_a_trial_battle(database_url, new_page) -> None:
    scripts = {ALPHA: Script(reply="alpha trial answer"), BETA: Script(status=500)}
    with live_arena(database_url, scripts, settings={"admin": {"token": TOKEN}}) as (
            arena, _), start_server(arena) as server:
        page = new_page(f"{server.url}/admin/")
        page.fill("input[type=text]", "admin")
        page.fill("input[type=password]", TOKEN)
        page.keyboard.press("Enter")
        page.get_by_role("tab", name="Live models").click()
        page.wait_for_selector("#admin-models-status")
        page.wait_for_function(
            f"document.querySelector('#admin-models-status').innerText.includes('{ALPHA}')")
        for pick, model in (("#admin-trial-model-a", ALPHA), ("#admin-trial-model-b", BETA)):
            page.click(f"{pick} input")
            page.locator(pick).get_by_role("option", name=model, exact=True).click()
        page.fill("#admin-trial-prompt textarea", "Hello from the owner")
        page.click("#admin-trial-run")
        page.wait_for_function(
            "document.querySelector('#admin-trial-outcome').innerText.includes('failed')")
        assert "alpha trial answer" in page.inner_text("#admin-trial-answer-a")
        assert f"{BETA}: upstream_server_error" in page.inner_text("#admin-trial-outcome")
        page.click("#admin-models-refresh")
        page.wait_for_function(
            "document.querySelector('#admin-models-status').innerText"
            ".includes('upstream_server_error')")
        with arena.session() as session:
            battle = session.exec(select(Battle)).one()
        assert battle.mode == "trial" and battle.status == "failed"
