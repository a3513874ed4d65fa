"""A voter's Gradio session makes its component configs when read, and they are Gradio's."""

from __future__ import annotations

import gradio as gr
import gradio.state_holder
import pytest

from arena.context import Arena
from arena.ui import build_blocks
from arena.ui.common import MESSAGES_SCHEMA
from arena.ui.session_costs import LazySessionState, _EagerSessionState


@pytest.fixture
def blocks(arena: Arena):
    return build_blocks(arena)


def test_new_sessions_of_the_served_page_are_lazy(blocks) -> None:
    assert gradio.state_holder.SessionState is LazySessionState
    holder = gradio.state_holder.StateHolder()
    holder.set_blocks(blocks)
    assert isinstance(holder["a-voter"], LazySessionState)


def test_a_lazy_session_makes_no_config_until_one_is_read(blocks, monkeypatch) -> None:
    made: list[int] = []
    config_for_block = type(blocks.default_config).config_for_block  # a staticmethod

    def counting(key, *args):  # noqa: ANN001, ANN202
        made.append(key)
        return config_for_block(key, *args)

    monkeypatch.setattr(type(blocks.default_config), "config_for_block", staticmethod(counting))
    state = LazySessionState(blocks)
    assert made == []
    some = next(k for k, b in blocks.blocks.items() if isinstance(b, gr.Chatbot))
    state._update_value_in_config(some, [{"role": "user", "content": "hi"}])
    assert made == [some]
    assert len(blocks.blocks) > 40  # the whole page: what an eager session makes at once


def test_lazy_and_eager_sessions_hold_the_same_configs(blocks) -> None:
    eager, lazy = _EagerSessionState(blocks), LazySessionState(blocks)
    chat = next(k for k, b in blocks.blocks.items() if isinstance(b, gr.Chatbot))
    row = next(k for k, b in blocks.blocks.items() if isinstance(b, gr.Row))
    for state in (eager, lazy):  # what an event's outputs do to a session
        state._update_value_in_config(chat, [{"role": "assistant", "content": "an answer"}])
        state[row] = type(blocks.blocks[row])(visible=False, render=False)
        state._update_config(row)
    assert list(lazy.components) == list(eager.components)
    assert dict(lazy.config_values) == eager.config_values
    assert lazy.config_values[row]["props"]["visible"] is False
    assert lazy.config_values[chat]["props"]["value"][0]["content"] == "an answer"
    assert list(lazy.config_values) == list(eager.config_values)  # in the same order


def test_the_answer_panels_carry_a_short_api_schema_in_the_page(blocks) -> None:
    panels = [c for c in blocks.get_config_file()["components"]
              if c["props"].get("elem_id") in ("battle-answer-a", "battle-answer-b")]
    assert [c["type"] for c in panels] == ["chatbot", "chatbot"]  # Gradio's chatbot draws them
    assert all(c[key] == MESSAGES_SCHEMA for c in panels for key in c if key.startswith("api_info"))
    assert all("api_info" in c for c in panels)
