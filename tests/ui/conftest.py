"""Real Chromium (Debian's) driven by Playwright against the served app."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ARENA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Distinctive names, so finding one in page traffic can only mean a leak.
SECRET_MODELS = ("zebra-secret-7b", "quokka-hidden-13b", "narwhal-masked-70b")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser, tmp_path: Path):
    contexts = []

    def open_page(url: str, *, locale: str = "en-US"):
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = csp_safe(context.new_page())
        page.set_default_timeout(20_000)
        page.goto(url, wait_until="domcontentloaded")
        return page

    yield open_page
    for context in contexts:
        context.close()


def csp_safe(page):
    """*page* whose wait_for_function also takes a bare expression under the arena's CSP.

    Playwright evaluates an expression predicate with eval() inside the page, which the
    page's Content-Security-Policy forbids (no 'unsafe-eval'); a function predicate is
    compiled through the browser's debugging protocol, which the CSP does not govern.
    So an expression is sent as the function returning it. The page's own scripts run
    under the CSP unchanged. An expression that throws counts as not true yet: Gradio
    mounts a tab's components only when the tab opens, so `document.querySelector('#x')`
    may still be null on the first poll after a click.
    """
    original = page.wait_for_function

    def wait_for_function(expression: str, *args: object, **kwargs: object) -> object:
        if not FUNCTION.match(expression):
            expression = ("() => { try { return (" + expression + "); } "
                          "catch (e) { return false; } }")
        return original(expression, *args, **kwargs)

    page.wait_for_function = wait_for_function
    return page


FUNCTION = re.compile(r"\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>|\w+\s*=>)")
