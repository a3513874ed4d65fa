"""Limits for tests that act faster and more often than people do.

Tests of the service layer start battles and vote in tight loops, and vote the
instant a battle is shown; with the arena's default limits they would be
refused or flagged too fast. They say so here, explicitly: the tests of the
limits and of the too-fast rule (tests/services/test_limits.py, tests/api/
test_voter_integrity.py) use the defaults.
"""

import time

from arena.config import LimitSettings

NO_LIMITS = LimitSettings(enabled=False, too_fast_min_seconds=0,
                          too_fast_seconds_per_1000_chars=0)
# The same as TOML for a config file (child `arena serve` processes, the tests' default).
NO_LIMITS_TOML = ("limits.enabled = false\nlimits.too_fast_min_seconds = 0\n"
                  "limits.too_fast_seconds_per_1000_chars = 0\n")


def start_of_a_minute_window(margin: float = 20.0) -> None:
    """Wait for the next minute when fewer than *margin* seconds are left in this one.

    Per-minute limits count in windows aligned to the minute: a test that expects its
    Nth request in a burst refused must not have the burst cut by a new window (a
    slow CI run once did, and every request was allowed)."""
    left = 60.0 - time.time() % 60.0
    if left < margin:
        time.sleep(left + 0.05)
