"""Identity-leak words: the built-in list, the owner's words and each model's own names."""

from __future__ import annotations

from arena.config import load_settings
from arena.config_live import DEFAULT_IDENTITY_WORDS
from arena.services.identity import identity_leak, identity_words
from tests.services.test_live import play_turn
from tests.utils.fake_openai import Script
from tests.utils.live import LIVE_MODELS, live_arena

MODEL = {"name": "house-model", "base_url": "http://127.0.0.1:9/v1",
         "model": "acme/Falcon-Q-7B-Chat", "organization": "Acme Research"}


def test_configured_words_add_to_the_built_in_list() -> None:
    words = identity_words(load_settings(live={"identity_words": ["Zephyrine"]}))
    assert "Zephyrine" in words and set(DEFAULT_IDENTITY_WORDS) <= set(words)
    assert identity_leak(["I was trained by OpenAI."], words) == "OpenAI"
    assert identity_leak(["Zephyrine here."], words) == "Zephyrine"


def test_built_in_list_can_be_replaced() -> None:
    words = identity_words(load_settings(live={"identity_words": ["Zephyrine"],
                                               "builtin_identity_words": False}))
    assert words == ("Zephyrine",)
    assert identity_leak(["I was trained by OpenAI."], words) is None


def test_each_model_adds_its_name_id_and_organization() -> None:
    words = identity_words(load_settings(models=[MODEL]))
    for word in ("house-model", "acme/Falcon-Q-7B-Chat", "Falcon-Q-7B-Chat", "Acme Research"):
        assert word in words
    assert identity_leak(["As Falcon-Q-7B-Chat, I think so."], words) == "Falcon-Q-7B-Chat"
    assert identity_leak(["Built at Acme Research."], words) == "Acme Research"
    assert identity_leak(["A falcon flew over the house."], words) is None


def test_an_answer_naming_its_own_model_id_flags_the_battle(database_url: str) -> None:
    alpha, beta = LIVE_MODELS
    # live_arena sends model id "id-<name>": not in the built-in list.
    scripts = {alpha: Script(reply=f"I am id-{alpha}, happy to help."),
               beta: Script(reply="Sure, here you go.")}
    with live_arena(database_url, scripts) as (arena, _):
        battle, _ = play_turn(arena, "Who are you?")
        assert battle.identity_leak is True
