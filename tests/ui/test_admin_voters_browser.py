"""The owner's Voters tab in a real browser: flagged voters listed with the reason, cleared."""

from __future__ import annotations

import pytest
from sqlmodel import select

from arena.config import load_settings
from arena.context import Arena
from arena.models import VoterFlag
from arena.services.flags import flag_voter
from tests.services.test_audit import simulate
from tests.utils.server import start_server

pytestmark = pytest.mark.browser
TOKEN = "browser-owner-token-456"


def test_voters_tab_lists_and_clears_a_flag(database_url, new_page) -> None:
    arena = Arena.open(load_settings(database_url=database_url, admin={"token": TOKEN},
                                     battle={"load_demo": False}), migrate=True)
    simulate(arena, honest=20, planted=1)
    with arena.session() as session:
        flag_voter(session, "honest-0003", "ballot stuffing seen in the logs")
    try:
        with start_server(arena) as server:
            page = new_page(f"{server.url}/admin/")
            page.fill("input[type=text]", "admin")
            page.fill("input[type=password]", TOKEN)
            page.keyboard.press("Enter")
            page.get_by_role("tab", name="Voters").click()
            page.wait_for_function("document.querySelector('#admin-voters-table')"
                                   ".innerText.includes('ballot stuffing')")
            assert "honest-0003" in page.inner_text("#admin-voters-table")
            page.fill("#admin-voter-id textarea, #admin-voter-id input", "honest-0003")
            page.click("#admin-voter-clear")
            page.wait_for_function("document.querySelector('#admin-voters-notice')"
                                   ".innerText.includes('cleared')")
            with arena.session() as session:
                row = session.exec(select(VoterFlag)).one()
            assert row.flagged is False
    finally:
        arena.close()
