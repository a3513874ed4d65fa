"""The demo answer set that ships with the app makes a first run votable."""

from __future__ import annotations

from collections import Counter

from sqlmodel import func, select

from arena import services
from arena.app import prepare
from arena.config import load_settings
from arena.formats.answers import read_answer_set
from arena.models import AnswerSet, Question
from arena.services.answer_sets import DEMO_PATH
from arena.services.voters import Voter
from tests.utils.limits import NO_LIMITS

VENDOR_WORDS = ("gpt", "openai", "claude", "anthropic", "qwen", "llama", "gemini", "deepseek",
                "通义", "language model")


def test_demo_set_has_enough_prompts_models_and_both_languages() -> None:
    demo = read_answer_set(DEMO_PATH)
    languages = Counter(q.language for q in demo.questions)
    assert len(demo.questions) >= 30
    assert len(demo.models) >= 4 and all(m.startswith("demo-") for m in demo.models)
    assert languages["en"] >= 10 and languages["zh"] >= 10
    assert all(set(q.answers) == set(demo.models) for q in demo.questions)
    assert any(len(q.turns) == 2 for q in demo.questions)
    text = "\n".join(a for q in demo.questions for samples in q.answers.values()
                     for turns in samples for a in turns)
    assert not [w for w in VENDOR_WORDS if w in text.lower()]
    assert "```" in text  # code blocks to render


def test_demo_loads_into_an_empty_database_only(database_url: str) -> None:
    settings = load_settings(database_url=database_url)
    arena = prepare(settings)
    with arena.session() as session:
        assert session.exec(select(AnswerSet.name)).all() == ["demo"]
        assert session.exec(select(func.count()).select_from(Question)).one() >= 30
        battle = services.start_battle(session, limits=NO_LIMITS, voter=Voter(id="first-visitor"))
        assert battle.conversation_a[1].content != battle.conversation_b[1].content
    prepare(settings).close()  # second start: nothing imported twice
    with arena.session() as session:
        assert session.exec(select(func.count()).select_from(AnswerSet)).one() == 1
    arena.close()


def test_demo_is_not_loaded_when_switched_off(database_url: str) -> None:
    arena = prepare(load_settings(database_url=database_url, battle={"load_demo": False}))
    with arena.session() as session:
        assert session.exec(select(func.count()).select_from(AnswerSet)).one() == 0
    arena.close()
