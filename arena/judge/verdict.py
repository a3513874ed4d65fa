"""Reading a judge's verdict (format ``arena-v1``), strictly.

The answer's last non-blank line must be exactly ``[[A]]``, ``[[B]]`` or ``[[C]]``
(spaces around it allowed). Anything else (no verdict, two verdicts, a verdict inside a
sentence, lower case, a verdict followed by more text) is :class:`UnreadableVerdict`:
stored and counted as a judge failure, never guessed.
"""

from __future__ import annotations

VERDICTS = {"[[A]]": "model_a", "[[B]]": "model_b", "[[C]]": "tie"}


class UnreadableVerdict(ValueError):
    """The judge's answer does not end with one verdict line; the message says why."""


def parse_verdict(text: str) -> str:
    """The winner label (model_a, model_b, tie) of a judge's answer, *text* in the order
    the judge was shown the answers (A first)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise UnreadableVerdict("the judge's answer is empty")
    last = lines[-1]
    if last in VERDICTS:
        return VERDICTS[last]
    found = [token for token in VERDICTS if token in last]
    if found:
        raise UnreadableVerdict(
            f"the last line must hold only the verdict, not {last[:80]!r}")
    raise UnreadableVerdict(
        f"no verdict: the last line is {last[:80]!r}, not [[A]], [[B]] or [[C]]")
