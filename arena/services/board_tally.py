"""A board view's pair counts kept as votes arrive, so a refit costs O(pairs), not O(votes).

For a view without style control the fit needs only, per ordered model pair and
outcome, the number of counted votes, the sum of their weights and of their squared
weights (``ratings.PairCounts``). :class:`PairTally` holds these for one view over the
store's rows ``[0, n)``: each poll folds in only the new rows. Weights are one except
for live prompts repeated more than the dedup limit (arena.services.leaderboard.
dedup_weights), whose weight changes with every repeat: their votes' cells are kept
aside with their prompts and weighed afresh at each fit (one weight per prompt). The
tally is rebuilt from all rows when the store's generation changes (flags changed after
a vote, a reload) or the set of over-limit prompts does, so it always equals what a fit
over every row would count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from arena.services.leaderboard_store import CHUNK, Snapshot
from ratings import PairCounts


@dataclass
class PairTally:
    generation: int
    n: int  # store rows folded in
    over: frozenset[int]  # prompt codes over the dedup limit when built
    table: np.ndarray  # (m, m, 3) counted votes by model code a, b and outcome, not `over`
    over_table: np.ndarray  # the same for the counted votes whose prompt is in `over`
    over_cells: np.ndarray  # those votes' cells of the tables (int64, see _cells)
    over_prompt: np.ndarray  # and their prompts' places in sorted(over) (int32)

    def regrid(self, m: int) -> None:
        """Grow the tables to *m* models (new models since), keeping every count."""
        size = self.table.shape[0]
        if size >= m:
            return
        for name in ("table", "over_table"):
            grown = np.zeros((m, m, 3))
            grown[:size, :size] = getattr(self, name)
            setattr(self, name, grown)
        a, rest = np.divmod(self.over_cells, 3 * size)
        self.over_cells = (a * m + rest // 3) * 3 + rest % 3


def _cells(a: np.ndarray, b: np.ndarray, outcome: np.ndarray, m: int) -> np.ndarray:
    cell = np.multiply(a, 3 * m, dtype=np.int64)
    cell += b.astype(np.int64) * 3
    cell += outcome
    return cell


def _places(over: frozenset[int]) -> Callable[[np.ndarray], np.ndarray] | None:
    """A function from prompt codes to their places in sorted(*over*), -1 for the rest:
    one gather from a table spanning the over codes (a binary search per vote took
    ~70 ms per million votes on every rebuild of a tally; numpy.isin picks
    a table or a sort by the codes' spread)."""
    if not over:
        return None
    codes = np.array(sorted(over), np.int64)
    low, span = int(codes[0]), int(codes[-1] - codes[0]) + 1
    table = np.full(span + 1, -1, np.int32)  # the last entry: every code outside the span
    table[codes - low] = np.arange(codes.size, dtype=np.int32)

    def place_of(prompts: np.ndarray) -> np.ndarray:
        at = prompts.astype(np.uint32) - np.uint32(low)  # below low (and -1): wraps high
        return table[np.minimum(at, span)]

    return place_of


def tally(snap: Snapshot, mask_of: Callable[[slice], np.ndarray], previous: PairTally | None,
          over: frozenset[int]) -> PairTally:
    """*previous* brought up to *snap* (or rebuilt), counting the rows ``mask_of`` keeps."""
    m = len(snap.models)
    generation = snap.version[0]
    if (previous is None or previous.generation != generation or previous.over != over
            or previous.n > snap.n):
        previous = PairTally(generation, 0, over, np.zeros((m, m, 3)), np.zeros((m, m, 3)),
                             np.empty(0, np.int64), np.empty(0, np.int32))
    previous.regrid(m)
    c = snap.cols
    size = previous.table.shape[0]
    flat = size * size * 3
    place_of = _places(over)
    for lo in range(previous.n, snap.n, CHUNK):  # a rebuild's temporaries stay small
        hi = min(lo + CHUNK, snap.n)
        rows = slice(lo, hi)
        keep = np.flatnonzero(mask_of(rows))
        if place_of is not None:
            place = place_of(c["prompt"][rows][keep])
            aside = place >= 0
            side = keep[aside]
            cells = _cells(c["a"][rows][side], c["b"][rows][side], c["outcome"][rows][side],
                           size)
            previous.over_cells = np.concatenate([previous.over_cells, cells])
            previous.over_prompt = np.concatenate([previous.over_prompt, place[aside]])
            previous.over_table += np.bincount(cells, minlength=flat).reshape(size, size, 3)
            keep = keep[~aside]
        cells = _cells(c["a"][rows][keep], c["b"][rows][keep], c["outcome"][rows][keep], size)
        previous.table += np.bincount(cells, minlength=flat).reshape(size, size, 3)
        previous.n = hi
    return previous


def pair_counts(snap: Snapshot, counted: PairTally, limit: float | None
                ) -> tuple[PairCounts, tuple[str, ...], int] | None:
    """The tally as ``ratings.PairCounts`` over the models present, their names, and the
    number of votes; ``None`` without votes. The votes of prompts over the limit are
    weighed afresh (their counts move with every repeat): one weight per prompt, spread
    over their votes by a gather from that small table."""
    size = counted.table.shape[0]
    count = wsum = w2sum = counted.table
    if counted.over_cells.size:
        over_counts = snap.prompt_counts()[np.array(sorted(counted.over), np.int64)]
        cap = np.inf if limit is None else limit  # (a tally is rebuilt when `over` changes)
        per_prompt = np.where(over_counts > cap, cap / np.maximum(over_counts, 1), 1.0)
        weight = per_prompt[counted.over_prompt]
        flat = size * size * 3
        count = count + counted.over_table
        wsum = wsum + np.bincount(counted.over_cells, weight, flat).reshape(size, size, 3)
        w2sum = w2sum + np.bincount(counted.over_cells, weight * weight, flat).reshape(
            size, size, 3)
    votes = int(round(count.sum()))
    if votes == 0:
        return None
    per_model = count.sum(axis=(1, 2)) + count.sum(axis=(0, 2))
    present = np.flatnonzero(per_model > 0)
    models = tuple(snap.models[k] for k in present)

    def fold(t: np.ndarray) -> np.ndarray:
        t = t[np.ix_(present, present)]
        return np.asarray(t + t.transpose(1, 0, 2)[:, :, [1, 0, 2]])

    count, wsum, w2sum = fold(count), fold(wsum), fold(w2sum)
    i, j = np.nonzero(np.triu(count.sum(axis=2) > 0, 1))
    pairs = PairCounts(len(models), i.astype(np.int64), j.astype(np.int64), count[i, j],
                       wsum[i, j], w2sum[i, j])
    return pairs, models, votes
