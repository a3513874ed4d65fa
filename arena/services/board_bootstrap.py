"""Bootstrap intervals of the public board, computed in the background on a schedule.

The live board's intervals are sandwich intervals, refitted with every vote. Bootstrap
intervals (FastChat's and OpenCompass's default) cost ``rounds`` fits, so each process
computes them every ``battle.bootstrap_minutes`` in a thread of its own, from the
public board's tallied pair counts (arena.services.board_tally: a round resamples the
pair x outcome counts, O(pairs), not O(votes)), and the board shows the latest with
their age. A request never waits for them: before the first run there are none.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from dataclasses import dataclass

from arena.services.leaderboard import FIT_OPTIONS, LeaderboardCache, View
from ratings import RatingsError, RatingsWarning, leaderboard_from_pairs

log = logging.getLogger("arena.leaderboard")
PUBLIC = View()


@dataclass(frozen=True)
class BootstrapIntervals:
    computed_at: float  # unix time
    rounds: int
    votes: int
    bounds: dict[str, tuple[float, float]]  # model: (lower, upper), Elo scale

    def age_seconds(self) -> float:
        return max(0.0, time.time() - self.computed_at)


class BoardBootstrap:
    """This process's scheduled bootstrap of the public board."""

    def __init__(self, cache: LeaderboardCache, *, minutes: float, rounds: int) -> None:
        self.cache, self.minutes, self.rounds = cache, minutes, rounds
        self._latest: BootstrapIntervals | None = None
        self._stop = threading.Event()

    @property
    def latest(self) -> BootstrapIntervals | None:
        return self._latest

    def start(self) -> BoardBootstrap:
        if self.minutes > 0:
            threading.Thread(target=self._run, name="board-bootstrap", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while True:
            try:
                self.compute()
            except Exception:  # noqa: BLE001 (the next run tries again)
                log.exception("board bootstrap failed; the next run will try again")
            if self._stop.wait(self.minutes * 60.0):
                return

    def compute(self) -> BootstrapIntervals | None:
        """Bootstrap the public board now (in the caller's thread); None without votes."""
        board = self.cache.board(PUBLIC)
        if board.pairs is None or not board.models:
            return None
        options = {**FIT_OPTIONS, "ci": "bootstrap"}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RatingsWarning)
                fit = leaderboard_from_pairs(board.pairs, board.models,
                                             n_battles=board.total_votes,
                                             bootstrap_rounds=self.rounds, **options)
        except (RatingsError, ValueError) as exc:
            log.info("board bootstrap: no intervals yet (%s)", exc)
            return None
        found = BootstrapIntervals(time.time(), self.rounds, board.total_votes,
                                   {r.model: (r.lower, r.upper) for r in fit.rows})
        self._latest = found
        return found


__all__ = ["BoardBootstrap", "BootstrapIntervals", "PUBLIC"]
