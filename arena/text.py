"""Small text helpers shared by importers and services."""

from __future__ import annotations

import hashlib
import re
import unicodedata

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


_PUNCTUATION_AND_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)


def prompt_key(text: str) -> str:
    """sha256 of a prompt normalised for counting repeats: case-folded, with Unicode
    compatibility forms unified and spaces and punctuation dropped ("Hi!", " hi " and
    "ＨＩ" are one prompt)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return hashlib.sha256(_PUNCTUATION_AND_SPACE.sub("", folded).encode()).hexdigest()
