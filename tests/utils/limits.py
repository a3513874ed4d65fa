"""Limits for tests that act faster and more often than people do.

Tests of the service layer start battles and vote in tight loops, and vote the
instant a battle is shown; with the arena's default limits they would be
refused or flagged too fast. They say so here, explicitly: the tests of the
limits and of the too-fast rule (tests/services/test_limits.py, tests/api/
test_voter_integrity.py) use the defaults.
"""

from arena.config import LimitSettings

NO_LIMITS = LimitSettings(enabled=False, too_fast_min_seconds=0,
                          too_fast_seconds_per_1000_chars=0)
# The same as TOML for a config file (child `arena serve` processes, the tests' default).
NO_LIMITS_TOML = ("limits.enabled = false\nlimits.too_fast_min_seconds = 0\n"
                  "limits.too_fast_seconds_per_1000_chars = 0\n")
