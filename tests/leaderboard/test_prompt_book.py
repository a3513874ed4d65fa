"""The board's live-prompt codes: the same codes and counts as a dict of the keys would give."""

from __future__ import annotations

import numpy as np
import pytest

from arena.services.prompt_book import PromptBook, count_percentile, prompt_ids
from arena.text import prompt_key


def test_codes_and_counts_match_a_dict_of_the_keys_over_many_batches() -> None:
    rng = np.random.default_rng(5)
    book = PromptBook(limit=10**6)
    reference: dict[str, int] = {}
    votes: dict[str, int] = {}
    for size in rng.integers(1, 3000, 60).tolist() + [1] * 50:  # segments, then polls
        keys = [prompt_key(f"prompt {k}") for k in rng.zipf(1.3, size) % 40_000]
        codes = book.codes(prompt_ids(keys))
        book.count(codes)
        for key, code in zip(keys, codes.tolist(), strict=True):
            assert reference.setdefault(key, code) == code  # a key keeps its code
            votes[key] = votes.get(key, 0) + 1
    assert len(book) == len(reference) == len(set(reference.values()))
    table = book.table()
    assert {key: int(table[code]) for key, code in reference.items()} == votes
    codes = np.array(sorted(reference.values()))
    by_code = {code: key for key, code in reference.items()}
    assert book.ids_of(codes).tolist() == prompt_ids(by_code[c] for c in codes).tolist()


def test_a_snapshot_of_the_counts_does_not_move_with_later_votes() -> None:
    book = PromptBook(limit=100)
    a, _, b = book.codes(prompt_ids(["a", "a", "b"])).tolist()
    book.count(np.array([a, a, b]))
    before = book.table()
    (c,) = book.codes(prompt_ids(["c"])).tolist()
    book.count(np.array([a, c]))
    assert (before[a], before[b], before.size) == (2, 1, 2)
    after = book.table()
    assert (after[a], after[b], after[c]) == (3, 1, 1)


def test_more_prompts_than_the_limit_are_refused_and_nothing_is_added() -> None:
    book = PromptBook(limit=3)
    a, b = book.codes(prompt_ids(["a", "b"])).tolist()
    with pytest.raises(ValueError, match="at most 3 distinct live prompts"):
        book.codes(prompt_ids(["a", "c", "d"]))
    assert len(book) == 2
    assert book.codes(prompt_ids(["b", "a", "c"])).tolist() == [b, a, 2]


def test_the_percentile_of_the_counts_is_numpys_read_off_the_histogram() -> None:
    rng = np.random.default_rng(11)
    for size in (1, 2, 7, 1000, 20_000):
        book = PromptBook(limit=10**6)
        codes = book.codes(rng.integers(0, size, 3 * size).astype(np.uint64))
        for start in range(0, codes.size, 997):  # in batches, some large, as votes arrive
            book.count(codes[start : start + 997])
        counts = book.table().dense()
        hist = book.histogram()
        assert hist.size - 1 == counts.max()
        assert hist.tolist() == [0, *np.bincount(counts)[1:].tolist()]
        for q in (0.0, 50.0, 99.9, 100.0):
            assert count_percentile(hist, q) == pytest.approx(np.percentile(counts, q), rel=1e-12)
