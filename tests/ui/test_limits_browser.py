"""Over a limit in a real browser: a clear message, nothing stored."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from arena.config import load_settings
from arena.context import Arena
from arena.models import Battle
from tests.ui.conftest import SECRET_MODELS
from tests.utils.factories import import_small_set
from tests.utils.server import start_server

pytestmark = pytest.mark.browser


def test_next_battle_over_the_limit_says_so(database_url, tmp_path, new_page) -> None:
    arena = Arena.open(load_settings(database_url=database_url, battle={"load_demo": False},
                                     limits={"enabled": True, "battles_per_minute_voter": 1}),
                       migrate=True)
    import_small_set(arena, tmp_path, models=SECRET_MODELS)
    try:
        with start_server(arena) as server:
            page = new_page(server.url)
            page.wait_for_selector("#battle-vote-a", state="visible")  # the one battle allowed
            page.click("#battle-next")
            page.wait_for_function("document.querySelector('#battle-reveal').innerText"
                                   ".includes('too many battles')")
            assert "at most 1 per minute" in page.inner_text("#battle-reveal")
            with arena.session() as session:
                assert session.exec(select(func.count()).select_from(Battle)).one() == 1
    finally:
        arena.close()
