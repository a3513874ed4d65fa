"""The named (side-by-side) tab in a real browser under each battle.named_mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from arena.models import Battle, Vote
from tests.ui.conftest import SECRET_MODELS
from tests.ui.test_battle_browser import wait_for_battle
from tests.utils.named import REFERENCE_MODELS, named_server

pytestmark = pytest.mark.browser


def open_named_tab(page) -> None:
    wait_for_battle(page)
    page.get_by_role("tab", name="Side by side").click()
    page.wait_for_selector("#sbs-draw")


def offered_models(page) -> list[str]:
    page.click("#sbs-pick-a input")
    options = page.locator("#sbs-pick-a").get_by_role("option")
    options.first.wait_for()
    names = sorted({line.strip() for text in options.all_inner_texts()
                    for line in text.splitlines() if line.strip() not in ("", "✓")})
    page.click("#arena-title")  # closes the list
    return names


def pick_and_draw(page, model_a: str, model_b: str) -> None:
    for pick, model in (("#sbs-pick-a", model_a), ("#sbs-pick-b", model_b)):
        page.click(f"{pick} input")
        page.locator(pick).get_by_role("option", name=model, exact=True).click()
    page.click("#sbs-draw")
    wait_for_battle(page, "sbs")


def test_off_has_no_named_tab(database_url, tmp_path: Path, new_page) -> None:
    with named_server(database_url, tmp_path, named_mode="off",
                      models=SECRET_MODELS) as server:
        page = new_page(server.url)
        wait_for_battle(page)
        assert page.get_by_role("tab", name="Leaderboard").count() == 1
        assert page.get_by_role("tab", name="Side by side").count() == 0
        assert page.locator("#sbs-draw").count() == 0
        page.get_by_role("tab", name="About").click()
        assert "Named comparisons exclude later anonymous votes" in page.inner_text(
            "#about-text")
        assert "实名对比会排除之后的匿名投票" in page.inner_text("#about-text")


def test_separate_without_a_separate_set_says_named_is_not_open(database_url, tmp_path: Path,
                                                               new_page) -> None:
    with named_server(database_url, tmp_path, named_mode="separate", answer_sets=[],
                      models=SECRET_MODELS) as server:
        page = new_page(server.url)
        open_named_tab(page)
        page.wait_for_function("document.querySelector('#sbs-notice').innerText"
                               ".includes('Named comparisons are not open')")
        assert "battle." not in page.inner_text("body")  # what to configure is the owner's
        page.click("#sbs-draw")
        page.wait_for_function("document.querySelector('#sbs-reveal').innerText.length > 0")
        assert not page.is_visible("#sbs-vote-a")
        with server.arena.session() as session:
            assert session.exec(select(Battle).where(Battle.anony == False)).all() == []  # noqa: E712


def test_separate_offers_only_models_anonymous_battles_never_show(database_url, tmp_path: Path,
                                                                 new_page) -> None:
    with named_server(database_url, tmp_path, named_mode="separate", reference=True,
                      models=SECRET_MODELS) as server:
        page = new_page(server.url)
        open_named_tab(page)
        assert offered_models(page) == sorted(REFERENCE_MODELS)
        assert page.inner_text("#sbs-notice").strip() == ""
        pick_and_draw(page, REFERENCE_MODELS[1], REFERENCE_MODELS[0])
        assert "Reference answer" in page.inner_text("#sbs-answer-a")
        assert not any(name in page.inner_text("body") for name in SECRET_MODELS)
        page.click("#sbs-vote-a")
        page.wait_for_function("document.querySelector('#sbs-reveal').innerText.includes('was')")
        with server.arena.session() as session:
            [(battle, vote)] = session.exec(select(Battle, Vote).join(Vote)).all()
        assert (battle.model_a, battle.answer_set, vote.seen_named) == (
            REFERENCE_MODELS[1], "reference", False)


def test_on_votes_with_names_as_before(database_url, tmp_path: Path, new_page) -> None:
    with named_server(database_url, tmp_path, named_mode="on",
                      models=SECRET_MODELS) as server:
        page = new_page(server.url)
        open_named_tab(page)
        pick_and_draw(page, SECRET_MODELS[2], SECRET_MODELS[0])
        page.click("#sbs-vote-bothbad")
        page.wait_for_function("document.querySelector('#sbs-reveal').innerText.includes('was')")
        with server.arena.session() as session:
            [(battle, vote)] = session.exec(select(Battle, Vote).join(Vote)).all()
        assert (battle.model_a, battle.model_b, battle.anony) == (
            SECRET_MODELS[2], SECRET_MODELS[0], False)
        assert vote.winner == "tie (bothbad)"
