"""Pair-sampling scores (ratings.sampling) against direct computation and hand values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ratings.sampling import (
    active_pair_scores,
    fisher_covariance,
    mix_uniform,
    model_shares,
    pair_count_matrix,
    pair_index,
    paper_pair_scores,
    weighted_pair_scores,
)

L2 = 0.1


def width_sum(theta: np.ndarray, counts: np.ndarray) -> float:
    """Sum of the rating standard deviations, by direct inversion (no Sherman-Morrison),
    without the prior's common-level part, as the board shows them."""
    cov = np.linalg.inv(np.diag((counts * p_matrix(theta) * (1 - p_matrix(theta))).sum(1))
                        - counts * p_matrix(theta) * (1 - p_matrix(theta))
                        + L2 * np.eye(theta.shape[0]))
    centred = np.eye(theta.shape[0]) - 1.0 / theta.shape[0]
    return float(np.sqrt(np.diag(centred @ cov @ centred)).sum())


def p_matrix(theta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))


def test_the_score_is_the_narrowing_one_more_vote_brings() -> None:
    rng = np.random.default_rng(3)
    m = 6
    theta = rng.normal(0.0, 0.8, m)
    i, j = pair_index(m)
    counts = pair_count_matrix(m, i, j, rng.integers(5, 60, i.shape[0]).astype(float))
    scores = active_pair_scores(theta, counts, L2, order=False)
    before = width_sum(theta, counts)
    direct = []
    for a, b in zip(i, j, strict=True):
        more = counts.copy()
        more[a, b] += 1
        more[b, a] += 1
        direct.append(before - width_sum(theta, more))
    direct = np.array(direct)
    # score = sum_k Δvar_k / sd_k = 2 * (first-order narrowing of the sd sum)
    assert np.allclose(scores / 2.0, direct, rtol=0.02)
    assert np.argmax(scores) == np.argmax(direct)


def test_a_model_without_votes_is_drawn_first() -> None:
    theta = np.array([0.5, 0.0, -0.5, 0.0])
    i, j = pair_index(4)
    n = np.array([100.0, 100.0, 0.0, 100.0, 0.0, 0.0])  # model 3 never played
    scores = active_pair_scores(theta, pair_count_matrix(4, i, j, n), L2)
    with_new = (i == 3) | (j == 3)
    assert scores[with_new].min() > 10 * scores[~with_new].max()


def test_the_order_term_sends_votes_to_neighbours_whose_order_is_in_doubt() -> None:
    theta = np.array([3.0, 0.0, 0.05, 0.1])  # one clear leader, three close together
    i, j = pair_index(4)
    counts = pair_count_matrix(4, i, j, np.full(6, 200.0))
    plain = active_pair_scores(theta, counts, L2, order=False)
    ordered = active_pair_scores(theta, counts, L2)
    close, leader = 5, 0  # pairs (2, 3) and (0, 1) in pair_index order
    assert ordered[close] / ordered[leader] > 1.5 * plain[close] / plain[leader]
    assert np.argmax(ordered) in (3, 4, 5)  # a pair among the three close models


def test_covariance_needs_a_prior() -> None:
    with pytest.raises(ValueError, match="l2"):
        fisher_covariance(np.zeros(3), np.zeros((3, 3)), 0.0)


def test_paper_rule_by_hand() -> None:
    theta = np.array([math.log(3.0), 0.0])  # p = 0.75, one vote's variance 3/16
    counts = pair_count_matrix(2, np.array([0]), np.array([1]), np.array([3.0]))
    var = 0.75 * 0.25
    expected = math.sqrt(var / 3) - math.sqrt(var / 4)
    assert paper_pair_scores(theta, counts)[0] == pytest.approx(expected)


def test_weights_multiply_and_zero_removes_a_model() -> None:
    scores = weighted_pair_scores(np.array([1.0, 2.0, 0.0]))
    assert scores.tolist() == [2.0, 0.0, 0.0]  # pairs (0,1), (0,2), (1,2)


def test_uniform_share_keeps_every_pair_drawable() -> None:
    probabilities = mix_uniform(np.array([1.0, 0.0, 0.0]), 0.3, np.ones(3))
    assert probabilities.tolist() == pytest.approx([0.7 + 0.1, 0.1, 0.1])
    assert mix_uniform(np.zeros(3), 0.3, np.ones(3)).tolist() == pytest.approx([1 / 3] * 3)


def test_model_shares_of_uniform_pairs_are_equal() -> None:
    shares = model_shares(np.ones(6), 4)
    assert shares.tolist() == pytest.approx([0.25] * 4)
    assert model_shares(np.array([1.0, 0.0, 0.0]), 3).tolist() == pytest.approx([0.5, 0.5, 0])
