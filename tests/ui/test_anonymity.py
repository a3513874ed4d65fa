"""Nothing the browser receives names the models of an anonymous battle before the vote.

Every byte the server sends (page, /config, assets, API calls, the event
stream) is recorded at the server's edge; the browser's own view of responses
is recorded too. Both must be free of the names until the vote, and must
contain them after, which shows the recording really sees event payloads.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from arena.context import Arena
from tests.ui.conftest import SECRET_MODELS
from tests.utils.factories import import_small_set
from tests.utils.recorder import TrafficRecorder
from tests.utils.server import start_server

pytestmark = pytest.mark.browser


def test_model_names_reach_the_browser_only_after_the_vote(
    arena: Arena, tmp_path: Path, new_page
) -> None:
    import_small_set(arena, tmp_path, models=SECRET_MODELS)
    recorders: list[TrafficRecorder] = []

    def wrap(app):
        recorders.append(TrafficRecorder(app))
        return recorders[0]

    with start_server(arena, wrap=wrap) as server:
        recorder = recorders[0]
        seen_by_browser: list[str] = []
        page = new_page("about:blank")

        def keep(response) -> None:
            seen_by_browser.append(response.url)
            if "event-stream" in response.headers.get("content-type", ""):
                return  # still open; its bytes are in the server-side recording
            try:
                seen_by_browser.append(response.text())
            except Exception:  # noqa: BLE001 - e.g. a redirect has no body
                pass

        page.on("response", keep)
        page.goto(server.url, wait_until="domcontentloaded")
        page.wait_for_selector("#battle-answer-a .message")
        page.wait_for_selector("#battle-vote-a", state="visible")
        page.wait_for_timeout(500)

        before = recorder.text() + "\n".join(seen_by_browser) + page.content()
        assert "zebra" not in page.inner_text("body")
        for name in SECRET_MODELS:
            assert name not in before, f"{name} reached the browser before the vote"
        assert '"components"' in before  # the page config (inlined in the HTML) was recorded
        config = httpx.get(f"{server.url}/config").text
        assert '"components"' in config and not any(name in config for name in SECRET_MODELS)
        assert "Answer" in before  # the answers themselves were recorded

        page.click("#battle-vote-b")
        page.wait_for_function(
            "document.querySelector('#battle-reveal').innerText.includes('Model A was')")
        after = recorder.text()
        revealed = [name for name in SECRET_MODELS if name in after]
        assert len(revealed) == 2, "the recorder must see the reveal payload"
