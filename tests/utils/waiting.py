"""Waiting for a condition with a bound, instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, timeout: float, interval: float = 0.02,
               what: str = "the condition") -> T:
    """Call *condition* until it returns a true value (returned); fails after *timeout* s.

    The bound only stops a test that would hang: pick it far above the expected wait.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(interval)
