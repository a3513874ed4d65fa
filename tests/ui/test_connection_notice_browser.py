"""When the page's server process is gone (a proxy's 502, a cut event stream), the
page asks the voter, in their language, to reload; a click on the notice reloads.
(A real dead process behind nginx: test_stack_browser.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.config import load_settings
from arena.context import Arena
from arena.ui.i18n import MESSAGES
from tests.ui.test_battle_browser import wait_for_battle
from tests.utils.factories import import_small_set
from tests.utils.server import LiveServer, start_server

pytestmark = pytest.mark.browser
BANNER = "#arena-connection-lost"
GATEWAY_ERROR = '{"detail": "the arena process serving this request stopped"}'


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[LiveServer]:
    arena = Arena.open(load_settings(database_url=f"sqlite:///{tmp_path / 'arena.db'}",
                                     battle={"load_demo": False}), migrate=True)
    import_small_set(arena, tmp_path)
    with start_server(arena) as server:
        yield server
    arena.close()


@pytest.mark.parametrize(("locale", "language"), [("en-US", "en"), ("zh-CN", "zh")])
def test_a_gateway_error_shows_a_reload_notice_in_the_voters_language(
        sqlite_server, new_page, locale: str, language: str) -> None:
    page = new_page(sqlite_server.url, locale=locale)
    wait_for_battle(page)
    assert page.query_selector(BANNER) is None  # nothing while all is well
    page.route("**/gradio_api/queue/join*", lambda route: route.fulfill(
        status=502, content_type="application/json", body=GATEWAY_ERROR))
    page.click("#battle-vote-a")
    page.wait_for_selector(BANNER)
    assert page.inner_text(BANNER) == MESSAGES[language]["connection_lost"]

    page.unroute("**/gradio_api/queue/join*")
    with page.expect_navigation():
        page.click(BANNER)
    wait_for_battle(page)
    assert page.query_selector(BANNER) is None
