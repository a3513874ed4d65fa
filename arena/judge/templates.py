"""The built-in judge prompts (written for this project), in English and Chinese.

A judge sees the question and two answers labelled Assistant A and Assistant B, never
the models' names, and must end with one line holding only its verdict in the
``arena-v1`` format (arena.judge.verdict).
"""

from __future__ import annotations

from collections.abc import Sequence

from arena.config_judges import JudgeSettings

EN = """You are an impartial judge comparing two AI assistants' answers to the same user \
question. Judge helpfulness, correctness, depth, clarity and how well each answer follows \
the user's instructions. Do not let the order of the answers, their length or the \
assistants' names or styles sway you; prefer neither answer for coming first.

First explain your comparison briefly. Then, on the last line and on its own, write \
exactly one verdict:
[[A]] if Assistant A's answer is better,
[[B]] if Assistant B's answer is better,
[[C]] if they are equally good or equally bad.

[User question]
{question}

[Assistant A's answer]
{answer_a}

[Assistant B's answer]
{answer_b}"""

ZH = """你是一名公正的评审，需要比较两个 AI 助手对同一个用户问题的回答。请从有用性、准确性、\
深度、清晰度以及是否遵循用户指令等方面进行评判。不要受回答的先后顺序、篇幅长短或助手名称、\
风格的影响，也不要因为某个回答排在前面而偏向它。

请先简要说明你的比较理由，然后在最后一行单独写出且只写出一个裁决：
[[A]] 表示助手 A 的回答更好，
[[B]] 表示助手 B 的回答更好，
[[C]] 表示两者一样好或一样差。

[用户问题]
{question}

[助手 A 的回答]
{answer_a}

[助手 B 的回答]
{answer_b}"""

DEFAULT_TEMPLATES = {"en": EN, "zh": ZH}


def shown_turns(texts: Sequence[str]) -> str:
    """One turn as it is; several as "[Turn 1] ..." paragraphs (questions and answers)."""
    if len(texts) == 1:
        return texts[0]
    return "\n\n".join(f"[Turn {k + 1}] {text}" for k, text in enumerate(texts))


def judge_language(language: str | None) -> str:
    """The template language for a question's or voter's language: zh or en."""
    return "zh" if (language or "").lower().startswith("zh") else "en"


def judge_messages(judge: JudgeSettings, *, language: str | None, question: str,
                   answer_a: str, answer_b: str) -> list[dict[str, str]]:
    """The chat messages sent to *judge* (the provider puts its system prompt first)."""
    lang = judge_language(language)
    template = judge.templates.get(lang) or DEFAULT_TEMPLATES[lang]
    prompt = template.format(question=question, answer_a=answer_a, answer_b=answer_b)
    return [{"role": "user", "content": prompt}]
