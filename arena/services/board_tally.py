"""A board view's pair counts kept as votes arrive, so a refit costs O(pairs), not O(votes).

For a view without style control the fit needs only, per ordered model pair and
outcome, the number of counted votes, the sum of their weights and of their squared
weights (``ratings.PairCounts``). :class:`PairTally` holds these for one view over the
store's rows ``[0, n)``: each poll folds in only the new rows. Weights are one except
for live prompts repeated more than the dedup limit (arena.services.leaderboard.
dedup_weights), whose weight changes with every repeat: their rows are kept aside and
weighed afresh at each fit. The tally is rebuilt from all rows when the store's
generation changes (flags changed after a vote, a reload) or the set of over-limit
prompts does, so it always equals what a fit over every row would count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from arena.services.leaderboard_store import Snapshot
from ratings import PairCounts

CHUNK_ROWS = 1 << 20


@dataclass
class PairTally:
    generation: int
    n: int  # store rows folded in
    over: frozenset[int]  # prompt codes over the dedup limit when built
    table: np.ndarray  # (m, m, 3) counted votes by model code a, b and outcome, not `over`
    over_rows: np.ndarray  # store rows of counted votes whose prompt is in `over`


def _cells(a: np.ndarray, b: np.ndarray, outcome: np.ndarray, m: int) -> np.ndarray:
    cell = np.multiply(a, 3 * m, dtype=np.int64)
    cell += b.astype(np.int64) * 3
    cell += outcome
    return cell


def tally(snap: Snapshot, mask_of: Callable[[slice], np.ndarray], previous: PairTally | None,
          over: frozenset[int]) -> PairTally:
    """*previous* brought up to *snap* (or rebuilt), counting the rows ``mask_of`` keeps."""
    m = len(snap.models)
    generation = snap.version[0]
    if (previous is None or previous.generation != generation or previous.over != over
            or previous.n > snap.n):
        previous = PairTally(generation, 0, over, np.zeros((m, m, 3)),
                             np.empty(0, np.int64))
    if previous.table.shape[0] < m:  # new models since: grow the table
        grown = np.zeros((m, m, 3))
        k = previous.table.shape[0]
        grown[:k, :k] = previous.table
        previous.table = grown
    c = snap.cols
    size = previous.table.shape[0]
    for lo in range(previous.n, snap.n, CHUNK_ROWS):  # a rebuild's temporaries stay small
        hi = min(lo + CHUNK_ROWS, snap.n)
        keep = np.flatnonzero(mask_of(slice(lo, hi)))
        if over:
            prompts = c["prompt"][lo:hi][keep]
            aside = np.isin(prompts, np.fromiter(over, np.int64, len(over)))
            previous.over_rows = np.concatenate([previous.over_rows, lo + keep[aside]])
            keep = keep[~aside]
        cells = _cells(c["a"][lo:hi][keep], c["b"][lo:hi][keep], c["outcome"][lo:hi][keep],
                       size)
        previous.table += np.bincount(cells, minlength=size * size * 3).reshape(size, size, 3)
        previous.n = hi
    return previous


def pair_counts(snap: Snapshot, counted: PairTally, limit: float | None
                ) -> tuple[PairCounts, tuple[str, ...], int] | None:
    """The tally as ``ratings.PairCounts`` over the models present, their names, and the
    number of votes; ``None`` without votes."""
    size = counted.table.shape[0]
    count = counted.table.copy()
    wsum, w2sum = count, count
    rows = counted.over_rows
    if rows.size:
        c = snap.cols
        per_vote = snap.prompt_counts()[c["prompt"][rows]]
        weight = np.where(per_vote > (limit or np.inf), (limit or 1.0) / per_vote, 1.0)
        # (every row aside is over the limit: the tally is rebuilt when the set changes)
        cells = _cells(c["a"][rows], c["b"][rows], c["outcome"][rows], size)
        flat = size * size * 3
        count = count + np.bincount(cells, minlength=flat).reshape(size, size, 3)
        wsum = counted.table + np.bincount(cells, weight, flat).reshape(size, size, 3)
        w2sum = counted.table + np.bincount(cells, weight * weight, flat).reshape(size, size, 3)
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
