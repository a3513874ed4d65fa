"""The browser tests through the deployment: nginx in front of two `arena serve`
processes on PostgreSQL (deploy/stack.py), as a public arena runs. The battle and
live tests of test_battle_browser.py and test_live_browser.py run here again, and
a page whose process is killed tells the voter to reload."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.ui import test_battle_browser as battle_tests
from tests.ui.conftest import SECRET_MODELS
from tests.ui.test_battle_browser import stored_votes, wait_for_battle
from tests.ui.test_live_browser import STREAMING_SCRIPTS, stream_then_vote
from tests.utils.factories import import_small_set
from tests.utils.live import live_arena
from tests.utils.postgres import fresh_postgres_database
from tests.utils.stack import UPSTREAM_HEADER, arena_stack, port_of, stack_server
from tests.utils.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]
RELOAD_BANNER = "#arena-connection-lost"


@pytest.fixture
def stack(tmp_path: Path):
    with fresh_postgres_database() as database_url, \
            stack_server(tmp_path, database_url) as server:
        import_small_set(server.arena, tmp_path, models=SECRET_MODELS)
        yield server


def test_battle_vote_and_reveal_through_nginx(stack, new_page) -> None:
    battle_tests.test_vote_reveals_names_only_after_voting(stack, stack.url, new_page)


def test_live_tokens_stream_through_nginx(tmp_path: Path, new_page) -> None:
    with fresh_postgres_database() as database_url, \
            live_arena(database_url, STREAMING_SCRIPTS) as (arena, _):
        models = json.dumps([m.model_dump(mode="json") for m in arena.settings.models])
        with arena_stack(tmp_path, database_url=database_url,
                         env={"ARENA_MODELS": models}) as running:
            stream_then_vote(new_page(running.url), arena)


def test_a_page_whose_process_dies_asks_for_a_reload(stack, new_page) -> None:
    page = new_page(stack.url)
    served: list[str] = []
    page.on("response", lambda response: served.append(
        response.headers.get(UPSTREAM_HEADER, "")) if "/gradio_api/queue/join" in
        response.url else None)
    page.reload(wait_until="domcontentloaded")  # the cookie is set: one process from now on
    wait_for_battle(page)
    victim = port_of(served[-1])
    workers = stack.stack.worker_list
    index = [worker.port for worker in workers].index(victim)
    old_pid = stack.stack.kill_worker(index, signal.SIGKILL)

    # The vote fails, and the page says to reload: either the request met the dead
    # process (a connection nginx kept to it: 502; or a stream the page had open cut),
    # and the banner says so over Gradio's bare "Error"; or it reached the other
    # process, which never saw this page's battle, and the answer says so.
    page.click("#battle-vote-a")
    told = page.wait_for_function("""() => {
        const banner = document.querySelector('#arena-connection-lost');
        if (banner && banner.innerText.includes('reload the page')) return 'banner';
        const reveal = document.querySelector('#battle-reveal').innerText;
        return reveal.includes('reload the page') ? 'answer' : null;
    }""").json_value()
    assert stored_votes(stack) == []

    # Once the process is back and nginx sends this voter to it again, a reload works.
    stack.stack.wait_restarted(index, old_pid)
    wait_until(lambda: port_of(page.request.get(f"{stack.url}/healthz").headers.get(
        UPSTREAM_HEADER, ":0")) == victim, timeout=60, interval=0.5,
        what="nginx sending the voter to the restarted process")
    if told == "banner":
        page.click(RELOAD_BANNER)  # the banner reloads the page
    else:
        page.reload(wait_until="domcontentloaded")
    wait_for_battle(page)
    page.click("#battle-vote-b")
    page.wait_for_function(
        "document.querySelector('#battle-reveal').innerText.includes('Model A was')")
    assert len(stored_votes(stack)) == 1
