"""The judge's prompt (never a model name) and the strict reading of its verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena.config import ConfigError, load_settings
from arena.judge.templates import DEFAULT_TEMPLATES, judge_messages
from arena.judge.verdict import UnreadableVerdict, parse_verdict

JUDGE = {"name": "judge-1", "base_url": "http://127.0.0.1:9/v1", "model": "j"}


@pytest.mark.parametrize(("text", "winner"), [
    ("A is more accurate.\n[[A]]", "model_a"),
    ("B covers the edge case.\n\n  [[B]]  \n\n", "model_b"),
    ("两个回答同样好。\n[[C]]", "tie"),
])
def test_a_verdict_on_its_own_last_line_is_read(text: str, winner: str) -> None:
    assert parse_verdict(text) == winner


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty"),
    ("A is better.", "no verdict"),
    ("[[A]]\nActually, on reflection, B.", "no verdict"),
    ("My verdict: [[A]]", "only the verdict"),
    ("[[A]] or [[B]]", "only the verdict"),
    ("[[a]]", "no verdict"),
    ("[A]", "no verdict"),
])
def test_anything_else_is_unreadable_never_guessed(text: str, why: str) -> None:
    with pytest.raises(UnreadableVerdict, match=why):
        parse_verdict(text)


def test_the_built_in_prompts_name_no_model_and_follow_the_language(tmp_path: Path) -> None:
    judge = load_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", judges=[JUDGE]).judges[0]
    for language, marker in (("en", "Assistant A's answer"), ("zh-CN", "助手 A 的回答")):
        messages = judge_messages(judge, language=language, question="Q?", answer_a="first",
                                  answer_b="second")
        assert [m["role"] for m in messages] == ["user"]
        text = messages[0]["content"]
        assert marker in text and "Q?" in text
        assert text.index("first") < text.index("second")
    assert all("[[A]]" in t and "[[C]]" in t for t in DEFAULT_TEMPLATES.values())


def test_an_owner_template_replaces_one_language(tmp_path: Path) -> None:
    own = {**JUDGE, "system_prompt": "Be brief.",
           "templates": {"en": "Q: {question}\n1: {answer_a}\n2: {answer_b}\nEnd with [[A]]."}}
    judge = load_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", judges=[own]).judges[0]
    messages = judge_messages(judge, language="en", question="x", answer_a="y", answer_b="z")
    assert messages == [{"role": "user", "content": "Q: x\n1: y\n2: z\nEnd with [[A]]."}]
    chinese = judge_messages(judge, language="zh", question="x", answer_a="y", answer_b="z")
    assert "助手 A 的回答" in chinese[-1]["content"]


@pytest.mark.parametrize(("templates", "message"), [
    ({"en": "{question} {answer_a}"}, "missing: answer_b"),
    ({"en": "{question} {answer_a} {answer_b} {model_a}"}, "unknown: model_a"),
    ({"fr": "{question} {answer_a} {answer_b}"}, "unknown language 'fr'"),
    ({"en": "{question} {answer_a} {answer_b} {"}, "literal brace"),
])
def test_a_bad_template_names_the_key(tmp_path: Path, templates: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=r"judges\[0\]\.templates") as error:
        load_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}",
                      judges=[{**JUDGE, "templates": templates}])
    assert message in str(error.value)


def test_judge_names_are_unique(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="repeated: judge-1"):
        load_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", judges=[JUDGE, JUDGE])


def test_the_readme_judge_config_is_valid(tmp_path: Path) -> None:
    import re

    from tests.test_config import REPO

    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## LLM judges beside people"):]
    block = re.search(r"```toml\n(.*?)```", section, re.DOTALL).group(1)
    config = tmp_path / "arena.toml"
    config.write_text(block, encoding="utf-8")
    settings = load_settings(config, database_url=f"sqlite:///{tmp_path / 'a.db'}")
    assert [(j.name, j.api_key_env, j.temperature) for j in settings.judges] == [
        ("qwen-judge", "DASHSCOPE_API_KEY", 0.0)]
