"""Live prompts as small integer codes, with the votes each has, for the board's
deduplication (arena.services.leaderboard.dedup_weights), held in numpy.

A live arena's prompts are mostly distinct: at ten million votes, a Python dict and list
of the 64-character prompt keys took ~190 bytes a prompt (1.9 GB). Here a prompt is a
64-bit id of its key, kept in sorted runs with its code (12 bytes), and 4 bytes of a
filter of the ids (at most 16 MB). Vote counts are kept only for the prompts asked more
than once (16 bytes each, and again in the copy a snapshot holds), with a bit per prompt
for "asked": most live prompts are asked once. Two keys share an id with probability
about n^2 / 2^65 (3e-6 at ten million prompts); they would then be counted as one prompt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

ID_DTYPE = np.uint64
FILTER_BITS = 27  # at most 16 MB of bits: at ten million prompts, one id in twenty is searched
_CHUNK = 1 << 20


def prompt_id(key: str) -> int:
    """64 bits of a prompt key (arena.text.prompt_key; any string is accepted)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


def prompt_ids(keys: Iterable[str]) -> np.ndarray:
    return np.fromiter((prompt_id(k) for k in keys), ID_DTYPE)


class PromptBook:
    """Codes 0, 1, ... for prompt ids, and the votes counted per code.

    The ids live in sorted runs, each less than half the size of the one before it (a
    new run merges into the smaller ones before it), so adding a vote's prompt costs a
    merge of small runs and a lookup is one binary search per run (a few dozen at most).
    A bit per range of ids (by their top bits: 32 bits a prompt, up to FILTER_BITS) says
    which ranges hold an id, so the many ids never seen before (most live prompts) skip
    the searches.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted ids, their codes)
        self._size = 0
        self._voted = np.zeros(0, np.uint8)  # a bit per code: at least one vote counted
        self._multi_codes = np.zeros(0, np.int64)  # codes with two votes or more, sorted
        self._multi_counts = np.zeros(0, np.int64)  # their vote counts
        self._hist = np.zeros(1, np.int64)  # prompts by their vote count (index 0 unused)
        self._top = 0  # the highest vote count
        self._table: CountTable | None = None  # the last copies handed out, while unchanged
        self._hist_copy: np.ndarray | None = None
        self._filter_bits = 13
        self._filter = np.zeros(1 << (self._filter_bits - 3), np.uint8)

    def __len__(self) -> int:
        return self._size

    def codes(self, ids: np.ndarray) -> np.ndarray:
        """The codes of *ids*; ids not seen before get the next codes."""
        unique, inverse = np.unique(np.asarray(ids, ID_DTYPE), return_inverse=True)
        found = np.full(unique.shape, -1, np.int64)
        byte, bit = self._filter_slots(unique)
        maybe = np.flatnonzero(self._filter[byte] & bit)
        wanted = unique[maybe]
        for keys, codes in self._runs:  # sorted queries: each search starts where the last ended
            pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
            hit = keys[pos] == wanted
            found[maybe[hit]] = codes[pos[hit]]
        new = found < 0
        added = int(np.count_nonzero(new))
        if added:
            if self._size + added > self.limit:
                raise ValueError(f"the leaderboard holds at most {self.limit} distinct live "
                                 f"prompts; these votes bring {added} more")
            found[new] = np.arange(self._size, self._size + added)
            self._size += added
            self._add_run(unique[new], found[new].astype(np.int32))
            if self._size << 5 > 1 << self._filter_bits and self._filter_bits < FILTER_BITS:
                self._filter_bits = min(FILTER_BITS, (self._size << 5).bit_length())
                self._filter = np.zeros(1 << (self._filter_bits - 3), np.uint8)
                for keys, _ in self._runs:
                    np.bitwise_or.at(self._filter, *self._filter_slots(keys))
            else:
                np.bitwise_or.at(self._filter, byte[new], bit[new])
        return found[inverse.reshape(-1)]

    def _filter_slots(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each id's byte and bit in the filter."""
        top = (ids >> np.uint64(64 - self._filter_bits)).astype(np.int64)
        return top >> 3, np.left_shift(1, top & 7).astype(np.uint8)

    def _add_run(self, keys: np.ndarray, codes: np.ndarray) -> None:
        runs = self._runs
        runs.append((keys, codes))
        while len(runs) > 1 and 2 * runs[-1][0].size > runs[-2][0].size:
            runs[-2:] = [_merge(*runs[-2], *runs[-1])]

    def ids_of(self, codes: np.ndarray) -> np.ndarray:
        """The ids of *codes* (sorted, distinct, each < len(self))."""
        codes = np.asarray(codes, np.int64)
        out = np.zeros(codes.size, ID_DTYPE)
        if not codes.size:
            return out
        wanted = np.zeros(self._size, bool)
        wanted[codes] = True
        for keys, run_codes in self._runs:
            for lo in range(0, run_codes.size, _CHUNK):  # temporaries of a chunk, not a run
                part = run_codes[lo : lo + _CHUNK]
                hit = wanted[part]  # a gather per id: no search for the many not wanted
                out[np.searchsorted(codes, part[hit])] = keys[lo : lo + _CHUNK][hit]
        return out

    def count(self, codes: np.ndarray) -> None:
        """One more vote for each of *codes* (-1: a vote without a live prompt)."""
        codes = np.asarray(codes)
        codes = codes[codes >= 0].astype(np.int64)
        if not codes.size:
            return
        if self._size > 8 * self._voted.size:
            grown = np.zeros((self._size + max(self._size // 8, 1 << 16)) // 8 + 1, np.uint8)
            grown[: self._voted.size] = self._voted
            self._voted = grown
        changed, more = np.unique(codes, return_counts=True)
        byte, bit = changed >> 3, np.left_shift(1, changed & 7).astype(np.uint8)
        old = ((self._voted[byte] & bit) != 0).astype(np.int64)
        np.bitwise_or.at(self._voted, byte, bit)
        multi = self._multi_codes
        pos = np.searchsorted(multi, changed)
        found = pos < multi.size
        found[found] = multi[pos[found]] == changed[found]
        old[found] = self._multi_counts[pos[found]]
        new = old + more
        self._multi_counts[pos[found]] = new[found]
        join = ~found & (new > 1)
        if join.any():
            self._multi_codes = np.insert(multi, pos[join], changed[join])
            self._multi_counts = np.insert(self._multi_counts, pos[join], new[join])
        self._top = max(self._top, int(new.max()))
        if self._top >= self._hist.size:
            hist = np.zeros(2 * self._top + 1, np.int64)
            hist[: self._hist.size] = self._hist
            self._hist = hist
        np.subtract.at(self._hist, old, 1)
        np.add.at(self._hist, new, 1)
        self._table = self._hist_copy = None

    def histogram(self) -> np.ndarray:
        """How many prompts have each vote count (index: the count; 0 for index 0), up
        to the highest count: what a percentile of the counts needs, without a pass over
        every prompt. A copy, shared while unchanged, as :meth:`table`."""
        if self._hist_copy is None:
            hist = self._hist[: self._top + 1].copy()
            hist[0] = 0
            hist.flags.writeable = False
            self._hist_copy = hist
        return self._hist_copy

    def table(self) -> CountTable:
        """Votes per code, a copy (a snapshot's, unchanged by later votes), shared by
        the snapshots taken while no vote with a live prompt arrived."""
        if self._table is None or self._table.size != self._size:
            self._table = CountTable(self._size, self._multi_codes.copy(),
                                     self._multi_counts.copy())
        return self._table


@dataclass(frozen=True)
class CountTable:
    """Votes per prompt code, read-only: every code below ``size`` has at least one; the
    codes with more are listed (sorted) with their counts."""

    size: int
    codes: np.ndarray
    counts: np.ndarray

    def __getitem__(self, codes: np.ndarray | int) -> np.ndarray:
        """The counts of *codes* (each in ``[0, size)``), as indexing an array would."""
        codes = np.asarray(codes, np.int64)
        if not self.codes.size:
            return np.ones(codes.shape, np.int64)
        pos = np.minimum(np.searchsorted(self.codes, codes), self.codes.size - 1)
        return np.where(self.codes[pos] == codes, self.counts[pos], 1)

    def above(self, limit: float) -> np.ndarray:
        """The codes with more than *limit* votes, sorted."""
        if limit < 1:
            return np.arange(self.size)
        return self.codes[self.counts > limit]

    def dense(self) -> np.ndarray:
        """Every code's count, as one array (``size`` long: for tests and small arenas)."""
        out = np.ones(self.size, np.int64)
        out[self.codes] = self.counts
        return out


def count_percentile(hist: np.ndarray, q: float) -> float:
    """``np.percentile(counts, q)`` of the positive counts whose histogram is *hist*
    (:meth:`PromptBook.histogram`), with numpy's default (linear) interpolation."""
    cumulative = np.cumsum(hist[1:])
    n = int(cumulative[-1]) if cumulative.size else 0
    if n == 0:
        raise ValueError("no counts")
    position = (n - 1) * (q / 100.0)
    low = int(np.floor(position))
    high = min(low + 1, n - 1)
    value_low, value_high = (float(np.searchsorted(cumulative, k, side="right") + 1)
                             for k in (low, high))
    return value_low + (value_high - value_low) * (position - low)


def _merge(keys: np.ndarray, codes: np.ndarray, more_keys: np.ndarray, more_codes: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted runs as one: each of the second's places found by binary search (a
    sort of the two together took 2.5x as long)."""
    at = np.searchsorted(keys, more_keys) + np.arange(more_keys.size)
    rest = np.ones(keys.size + more_keys.size, bool)
    rest[at] = False
    merged_keys, merged_codes = np.empty(rest.size, keys.dtype), np.empty(rest.size, codes.dtype)
    merged_keys[at], merged_keys[rest] = more_keys, keys
    merged_codes[at], merged_codes[rest] = more_codes, codes
    return merged_keys, merged_codes


__all__ = ["ID_DTYPE", "CountTable", "PromptBook", "count_percentile", "prompt_id", "prompt_ids"]
