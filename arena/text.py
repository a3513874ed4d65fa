"""Small text helpers shared by importers and services."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str:
    """'zh' when Chinese characters make up a fair share of the letters, else 'en' or 'other'.

    Deliberately simple: arena prompts are mostly English or Chinese, and the
    label only drives a leaderboard category.
    """
    cjk = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if cjk and cjk >= latin_words:
        return "zh"
    if _LATIN.search(text):
        return "en"
    return "other"
