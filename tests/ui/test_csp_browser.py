"""Answers cannot make a voter's browser load anything from elsewhere: images and frames
show as links, and the page's Content-Security-Policy blocks what a rewrite would miss.

The "elsewhere" is a recording HTTP server on another port of 127.0.0.1 (another
origin, as a remote host is); it must see no request from the voter's browser.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from arena import services
from arena.formats.answers import read_answer_set
from arena.models import Battle
from tests.utils.fake_openai import Script
from tests.utils.live import LIVE_MODELS, live_arena
from tests.utils.request_log import recording_server
from tests.utils.server import start_server

pytestmark = pytest.mark.browser

DOT = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
       "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
# Every securitypolicyviolation of the page, kept for the test to read.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(
    {directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile}));
"""


def hostile_answer(remote: str, side: str) -> str:
    return (f"Answer {side}. A picture: ![pixel]({remote}/pixel.png)\n\n"
            f'<iframe src="{remote}/frame"></iframe>\n\n'
            f'<img src="{remote}/html-img.png" alt="html image">\n\n'
            f"By reference: ![ref pixel][px]\n\n[px]: {remote}/ref.png\n\n"
            f"An inline dot: ![dot]({DOT})\n\n"
            f"```markdown\n![in code]({remote}/code.png)\n```\n")


def import_hostile_set(arena, tmp_path: Path, remote: str) -> None:
    line = {"question_id": "q1", "turns": ["Show me a picture."],
            "answers": {"model-one": hostile_answer(remote, "one"),
                        "model-two": hostile_answer(remote, "two")}}
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with arena.session() as session:
        services.import_answer_set(session, read_answer_set(path))


def violations(page) -> list[dict[str, str]]:
    return page.evaluate("() => window.__violations")


def probe_csp(page, remote: str) -> None:
    """Put an image from *remote* into the page as a rewrite would miss it; wait until the
    CSP blocks it (by then earlier loads from the page would have been asked for)."""
    page.evaluate("(url) => { const img = document.createElement('img'); img.src = url;"
                  " document.body.appendChild(img); }", f"{remote}/probe.png")
    page.wait_for_function("(url) => window.__violations.some(v => v.blocked === url)",
                           arg=f"{remote}/probe.png")


def assert_only_probe_blocked(page, remote: str) -> None:
    """No CSP violation came from Gradio itself: the only one is the probe's."""
    assert [v["blocked"] for v in violations(page)] == [f"{remote}/probe.png"], violations(page)


def test_answer_images_and_frames_are_links_and_nothing_loads(
        server, tmp_path: Path, new_page) -> None:
    with recording_server() as remote:
        httpx.get(f"{remote.url}/control.png")  # the recorder works
        assert remote.paths == ["/control.png"]
        remote.paths.clear()
        import_hostile_set(server.arena, tmp_path, remote.url)
        page = new_page("about:blank")
        page.add_init_script(RECORD_VIOLATIONS)
        page.goto(server.url)
        for side in ("a", "b"):
            answer = f"#battle-answer-{side}"
            page.wait_for_selector(f"{answer} a[href='{remote.url}/pixel.png']")
            text = page.inner_text(answer)
            assert "image: pixel" in text and "image: html image" in text
            assert "image: ref pixel" in text and "frame" in text
            assert page.locator(f"{answer} a[href='{remote.url}/frame']").count() == 1
            assert page.locator(f"{answer} a[href='{remote.url}/html-img.png']").count() == 1
            assert page.locator(f"{answer} a[href='{remote.url}/ref.png']").count() == 1
            assert page.locator(f"{answer} iframe").count() == 0
            assert f"![in code]({remote.url}/code.png)" in text  # code is shown as written
        assert page.locator(f"img[src^='{remote.url}']").count() == 0
        page.click("#battle-vote-a")
        page.wait_for_function(
            "document.querySelector('#battle-reveal').innerText.includes('Model A was')")
        page.get_by_role("tab", name="Leaderboard").click()  # plotly runs under the CSP too
        page.wait_for_selector("#leaderboard-plot-ratings .js-plotly-plot svg.main-svg",
                               state="attached")
        probe_csp(page, remote.url)
        assert remote.paths == []
        assert_only_probe_blocked(page, remote.url)
        with server.arena.session() as session:  # what is stored (and REST) stays as written
            battle = session.exec(select(Battle)).one()
        assert f"![pixel]({remote.url}/pixel.png)" in battle.conversation_a[1]["content"]

        # The control: with the CSP bypassed, the same probe does reach the recorder.
        bypassed = page.context.browser.new_context(bypass_csp=True)
        try:
            other = bypassed.new_page()
            other.goto(server.url, wait_until="domcontentloaded")
            other.evaluate("(url) => new Promise((done) => { const img = new Image();"
                           " img.onload = img.onerror = done; img.src = url; })",
                           f"{remote.url}/control-probe.png")
            assert remote.paths == ["/control-probe.png"]
        finally:
            bypassed.close()


def test_live_answers_stream_images_as_links(database_url, new_page) -> None:
    with recording_server() as remote:
        reply = (f"Look ![pixel]({remote.url}/live.png) and "
                 f'<iframe src="{remote.url}/live-frame"></iframe> done')
        scripts = {name: Script(reply=reply, token_delay=0.02) for name in LIVE_MODELS}
        with live_arena(database_url, scripts) as (arena, _), start_server(arena) as served:
            page = new_page("about:blank")
            page.add_init_script(RECORD_VIOLATIONS)
            page.goto(served.url)
            page.fill("#live-input textarea", "Show me a picture")
            page.click("#live-send")
            page.wait_for_selector("#live-vote-a", state="visible")
            for side in ("a", "b"):
                answer = f"#live-answer-{side}"
                assert page.locator(f"{answer} a[href='{remote.url}/live.png']").count() == 1
                assert page.locator(f"{answer} a[href='{remote.url}/live-frame']").count() == 1
                assert page.locator(f"{answer} iframe").count() == 0
            probe_csp(page, remote.url)
            assert remote.paths == []
            assert_only_probe_blocked(page, remote.url)

