"""Vote times in the audit: time buckets, the flood cap and the drift test.

See :mod:`ratings.anomaly` for where they enter the audit.  Every vote's time
bucket is ``floor(time / seconds)``; :class:`TimeBuckets` codes them once per
audit (int32, the buckets that occur), and the weights of the flood cap are
one number per bucket (:class:`~ratings.anomaly_stats.GroupWeights`), not one
per vote.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ratings.anomaly_blocks import OutcomeModel
from ratings.anomaly_stats import (
    DEFAULT_CHUNK,
    DEFAULT_FDR,
    DEFAULT_MIN_MODEL_VOTES,
    GroupWeights,
    benjamini_hochberg,
    normal_cdf,
    one_model_sums,
    one_model_z,
    vote_slices,
)
from ratings.typing import BoolArray, FloatArray, IndexArray, IntArray

DEFAULT_DRIFT_SECONDS = 86_400.0
FLOOD_CAP = 2.0
_DENSE_BUCKETS = 1 << 24


@dataclass(frozen=True, eq=False)
class TimeBuckets:
    """Each vote's time bucket: ``code`` indexes ``starts`` (the buckets ``floor(time /
    seconds)`` that occur, sorted), ``size`` counts each bucket's votes."""

    seconds: float
    starts: IntArray
    code: NDArray[np.int32]
    size: IntArray


def time_buckets(time: FloatArray, seconds: float, *, chunk: int = DEFAULT_CHUNK) -> TimeBuckets:
    """:class:`TimeBuckets` of ``time``: a count per bucket a chunk at a time (a sort of every
    vote's bucket only when the buckets span more than 2^24 or a time is not finite)."""
    n = time.shape[0]
    finite = bool(n) and bool(np.isfinite(time).all())
    lo, hi = (int(np.floor(x / seconds)) for x in (time.min(), time.max())) if finite else (0, 0)
    if not finite or hi - lo >= _DENSE_BUCKETS:
        starts, inv, size = np.unique(np.floor(time / seconds).astype(np.int64),
                                      return_inverse=True, return_counts=True)
        return TimeBuckets(seconds, starts, inv.astype(np.int32), size)
    counts = np.zeros(hi - lo + 1, dtype=np.int64)
    for s in vote_slices(n, chunk):
        counts += np.bincount(np.floor(time[s] / seconds).astype(np.int64) - lo,
                              minlength=counts.shape[0])
    present = counts > 0
    rank = (np.cumsum(present) - 1).astype(np.int32)
    code = np.empty(n, dtype=np.int32)
    for s in vote_slices(n, chunk):
        code[s] = rank[np.floor(time[s] / seconds).astype(np.int64) - lo]
    return TimeBuckets(seconds, lo + np.flatnonzero(present), code, counts[present])


@dataclass(frozen=True, eq=False)
class DriftCell:
    """A model that did better (``z > 0``) or worse than its strength in one time bucket."""

    start: float
    model: int
    z: float


def drift_test(
    buckets: TimeBuckets, a: IndexArray, b: IndexArray, outcome: IndexArray,
    model: OutcomeModel, n_models: int, *, fdr: float = DEFAULT_FDR,
    min_model_votes: int = DEFAULT_MIN_MODEL_VOTES, rest: BoolArray | None = None,
    blame: BoolArray | None = None, chunk: int = DEFAULT_CHUNK,
) -> tuple[tuple[DriftCell, ...], BoolArray, BoolArray]:
    """One-model residuals per time bucket: a burst of rigged votes.

    Only the votes in ``rest`` (all by default) take part, a chunk at a time.
    Every (bucket, model) cell is tested (two-sided normal p-value,
    Benjamini-Hochberg over the cells); the votes of a flagged cell that
    involve its model are marked, only those where ``blame`` is true when it
    is given.  Returns the flagged cells, that mask, and the mask of all votes
    in the cells where the model did better than its strength.
    """
    n, nb = a.shape[0], buckets.starts.shape[0]

    def chunks() -> Iterator[tuple[IndexArray | slice, IndexArray]]:
        for s in vote_slices(n, chunk):
            if rest is None:
                yield s, buckets.code[s]
            else:
                yield np.flatnonzero(rest[s]) + s.start, buckets.code[s][rest[s]]

    res, var, votes = (np.zeros((nb, n_models + 1)) for _ in range(3))
    for sel, bucket in chunks():
        probs = model.probabilities(a[sel], b[sel])
        sums = one_model_sums(bucket, a[sel], b[sel], outcome[sel], probs, n_models, nb)
        for total, part in zip((res, var, votes), sums, strict=True):
            total += part
    z = one_model_z(res, var, votes, min_model_votes=min_model_votes)[0][:, :n_models]
    tested = z.ravel() != 0.0
    p = 2.0 * normal_cdf(-np.abs(z.ravel()[tested]))
    hit = np.zeros(z.size, dtype=bool)
    hit[np.flatnonzero(tested)[benjamini_hochberg(p, fdr)]] = True
    hit2 = hit.reshape(z.shape)
    up = hit2 & (z > 0)
    mask, rising = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    for sel, bucket in chunks():
        mask[sel] = hit2[bucket, a[sel]] | hit2[bucket, b[sel]]
        if blame is not None:
            mask[sel] &= blame[sel]
        rising[sel] = up[bucket, a[sel]] | up[bucket, b[sel]]
    cells = tuple(
        DriftCell(float(buckets.starts[g] * buckets.seconds), int(k), float(z[g, k]))
        for g, k in zip(*np.nonzero(hit2), strict=True)
    )
    return cells, mask, rising


def flood_weights(time: FloatArray, seconds: float, cap: float = FLOOD_CAP, *,
                  buckets: TimeBuckets | None = None, chunk: int = DEFAULT_CHUNK) -> FloatArray:
    """Vote weights that hold each time bucket to ``cap`` times the median bucket's volume.

    The reference the tests compare against (pair histories, the fit) must
    not be captured by a flood: a botnet casting ten days' traffic in one day
    would otherwise make the honest votes look implausible.  ``buckets``:
    :func:`time_buckets` of ``time``, when already made.
    """
    return bucket_weights(buckets or time_buckets(time, seconds, chunk=chunk), cap)[:]


def bucket_weights(buckets: TimeBuckets, cap: float = FLOOD_CAP) -> GroupWeights:
    """:func:`flood_weights` as one weight per bucket."""
    limit = cap * float(np.median(buckets.size))
    return GroupWeights(buckets.code, np.minimum(1.0, limit / buckets.size))


def newcomers(voter: IndexArray, time: FloatArray, seconds: float, *,
              buckets: TimeBuckets | None = None, chunk: int = DEFAULT_CHUNK) -> BoolArray:
    """Votes of voters seen in one time bucket only (a burst is blamed on them).

    A botnet's ids are used once; most honest voters have voted on other days
    too, and keep their votes when a burst on their day is flagged.
    """
    tb = buckets or time_buckets(time, seconds, chunk=chunk)
    n = int(voter.max()) + 1
    first = np.full(n, np.iinfo(np.int32).max, dtype=np.int32)
    last = np.full(n, -1, dtype=np.int32)
    for s in vote_slices(voter.shape[0], chunk):
        np.minimum.at(first, voter[s], tb.code[s])
        np.maximum.at(last, voter[s], tb.code[s])
    out = np.empty(voter.shape[0], dtype=bool)
    for s in vote_slices(voter.shape[0], chunk):
        out[s] = first[voter[s]] == last[voter[s]]
    return out


__all__ = [
    "DEFAULT_DRIFT_SECONDS",
    "FLOOD_CAP",
    "DriftCell",
    "TimeBuckets",
    "bucket_weights",
    "drift_test",
    "flood_weights",
    "newcomers",
    "time_buckets",
]
