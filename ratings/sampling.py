"""Which pair of models the next vote should compare.

Every policy returns unnormalised probabilities over the ``p = m (m - 1) / 2``
unordered pairs ``(i < j)`` of :func:`pair_index` (zero: never drawn); the
caller normalises and draws.

``uniform``
    every pair alike.
``weighted``
    ``P(i, j) ∝ w_i w_j``: the owner's per-model weights.
``active``
    the pair whose next vote narrows the ranking's confidence intervals most.
    With ratings ``theta`` (natural-log Bradley-Terry scale) and pair counts
    ``n``, the Fisher information of the fit is the graph Laplacian
    ``I = sum_ij n_ij v_ij (e_i - e_j)(e_i - e_j)^T + l2 Id``, with per-vote
    information ``v_ij = p_ij (1 - p_ij)``, ``p_ij = 1 / (1 + e^(theta_j -
    theta_i))``, and the ridge ``l2`` the live fit's prior (which also keeps a
    model without votes finite and very uncertain).  ``C = I^-1``
    approximates the ratings' covariance.  One more vote on ``(i, j)`` changes
    it by Sherman-Morrison, ``C' = C - v C d d^T C / (1 + v d^T C d)`` with
    ``d = e_i - e_j``, so model ``k``'s interval half-width ``z sd_k``
    shrinks by about ``z Δ_kk / (2 sd_k)``.  The score of a pair is the total
    shrinkage::

        s_ij = v_ij / (1 + v_ij q_ij) * (G_ii + G_jj - 2 G_ij),
        q_ij = C_ii + C_jj - 2 C_ij,  G = C diag(1 / sd) C,

    where ``sd_k`` leaves out the prior's part on the common level of all ratings
    (``1 / (l2 m)``), which the board's intervals do not show;
    two ``m x m`` products once per board, then ``O(p)`` per board.

    A board is read by rank, so by default (``order``) the score also counts the
    narrowing of the interval of each difference ``theta_k - theta_l`` between
    neighbours in rating whose order is in doubt (the difference is within
    1.96 of its own sd): the same algebra with contrast ``e_k - e_l`` in place
    of ``e_k``, ``G += sum_(k,l) C c c^T C / sd(c)``. Votes then also go to the
    close pairs whose order the board cannot tell yet, not only to the widest
    intervals. ``benchmarks/bench_sampling.py`` compares both.

    Chiang et al. (2024, "Chatbot Arena: an open platform for evaluating LLMs
    by human preference", §4) sample ``P(a) ∝ sqrt(Σ_aa / n_a) - sqrt(Σ_aa /
    (n_a + 1))`` per pair ``a``: it narrows each pair's *win-rate* estimate, one
    pair at a time, and ignores that a vote on ``(i, j)`` also sharpens every
    comparison through ``i`` or ``j``.  The rule above targets the intervals
    the board shows; :func:`paper_pair_scores` keeps the paper's rule for
    comparison (``benchmarks/bench_sampling.py`` runs both).

Draws sample proportionally to the score rather than taking its maximum:
many voters draw from one board between two refits, and the maximum would send
them all to one pair.
"""

from __future__ import annotations

import numpy as np

from ratings.typing import FloatArray, IntArray


def pair_index(m: int) -> tuple[IntArray, IntArray]:
    """The unordered pairs ``(i < j)`` of ``m`` models, in row-major order."""
    i, j = np.triu_indices(m, k=1)
    return i.astype(np.int64), j.astype(np.int64)


def uniform_pair_scores(available: FloatArray) -> FloatArray:
    """1 for each pair of two available models (``available``: 0/1 per model)."""
    return weighted_pair_scores((np.asarray(available, dtype=np.float64) > 0).astype(np.float64))


def weighted_pair_scores(weights: FloatArray) -> FloatArray:
    """``w_i w_j`` per pair; a weight of zero (or below) never draws the model."""
    w = np.clip(np.asarray(weights, dtype=np.float64), 0.0, None)
    i, j = pair_index(w.shape[0])
    return np.asarray(w[i] * w[j])


def pair_count_matrix(m: int, i: IntArray, j: IntArray, n: FloatArray) -> FloatArray:
    """Symmetric ``m x m`` matrix of battle counts from per-pair rows."""
    out = np.zeros((m, m))
    np.add.at(out, (i, j), n)
    np.add.at(out, (j, i), n)
    return out


def fisher_covariance(theta: FloatArray, counts: FloatArray, l2: float) -> FloatArray:
    """``(sum n_ij v_ij (e_i - e_j)(e_i - e_j)^T + l2 Id)^-1`` (see the module docstring).

    ``theta`` (m,), ``counts`` (m, m) symmetric with a zero diagonal, ``l2 > 0``.
    """
    if l2 <= 0:
        raise ValueError("l2 must be positive: it keeps models without votes finite")
    theta = np.asarray(theta, dtype=np.float64)
    p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))
    w = counts * p * (1.0 - p)
    info = np.diag(w.sum(axis=1)) - w + l2 * np.eye(theta.shape[0])
    return np.asarray(np.linalg.inv(info))


def active_pair_scores(theta: FloatArray, counts: FloatArray, l2: float,
                       available: FloatArray | None = None, *,
                       order: bool = True) -> FloatArray:
    """Expected narrowing of the board's intervals from one vote per pair.

    ``theta`` (m,) natural-log ratings (0 for a model without votes), ``counts``
    (m, m) battles per pair, ``l2`` the fit's prior precision; ``available``
    (m,) 0/1 zeroes the pairs of unavailable models. With ``order`` the
    intervals of the differences between neighbours in rating whose intervals
    overlap count too (see the module docstring). Returns (p,) scores.
    """
    theta = np.asarray(theta, dtype=np.float64)
    m = theta.shape[0]
    cov = fisher_covariance(theta, counts, l2)
    # The board's sandwich intervals carry no uncertainty about the ratings' common
    # level; the prior puts 1 / (l2 m) of it on every diagonal element (C 1 = 1 / l2).
    sd = np.sqrt(np.clip(np.diag(cov) - 1.0 / (l2 * m), 1e-12, None))
    g = (cov / sd[None, :]) @ cov
    if order and m > 1:
        ranked = np.argsort(-theta, kind="stable")
        hi, lo = ranked[:-1], ranked[1:]
        diff_sd = np.sqrt(np.clip(cov[hi, hi] + cov[lo, lo] - 2 * cov[hi, lo], 1e-12, None))
        doubt = theta[hi] - theta[lo] < 1.96 * diff_sd
        if doubt.any():
            rows = cov[hi[doubt]] - cov[lo[doubt]]  # (k, m): c^T C for each contrast c
            g = g + (rows.T / diff_sd[doubt][None, :]) @ rows
    i, j = pair_index(m)
    d = theta[i] - theta[j]
    v = 1.0 / (2.0 + np.exp(d) + np.exp(-d))
    q = cov[i, i] + cov[j, j] - 2.0 * cov[i, j]
    spread = g[i, i] + g[j, j] - 2.0 * g[i, j]
    scores = np.clip(v / (1.0 + v * q) * spread, 0.0, None)
    if available is not None:
        scores *= uniform_pair_scores(np.asarray(available, dtype=np.float64))
    return np.asarray(scores)


def paper_pair_scores(theta: FloatArray, counts: FloatArray,
                      available: FloatArray | None = None) -> FloatArray:
    """Chiang et al. (2024) §4: ``sqrt(Σ_aa / n_a) - sqrt(Σ_aa / (n_a + 1))`` per pair.

    ``Σ_aa`` is taken as one vote's variance under the ratings, ``p (1 - p)``;
    a pair without votes counts as half a vote so its score stays finite and
    the largest.
    """
    theta = np.asarray(theta, dtype=np.float64)
    i, j = pair_index(theta.shape[0])
    d = theta[i] - theta[j]
    var = 1.0 / (2.0 + np.exp(d) + np.exp(-d))
    n = np.maximum(np.asarray(counts, dtype=np.float64)[i, j], 0.5)
    scores = np.sqrt(var / n) - np.sqrt(var / (n + 1.0))
    if available is not None:
        scores *= uniform_pair_scores(np.asarray(available, dtype=np.float64))
    return np.asarray(scores)


def mix_uniform(scores: FloatArray, share: float, available: FloatArray | None = None
                ) -> FloatArray:
    """Probabilities: ``(1 - share)`` by ``scores``, ``share`` uniform over the pairs
    ``available`` allows (all pairs with a positive score when not given)."""
    scores = np.asarray(scores, dtype=np.float64)
    allowed = (uniform_pair_scores(np.asarray(available, dtype=np.float64))
               if available is not None else (scores > 0).astype(np.float64))
    total, count = scores.sum(), allowed.sum()
    if count == 0:
        return np.zeros_like(scores)
    uniform = allowed / count
    if total <= 0 or not np.isfinite(total):
        return np.asarray(uniform)
    return np.asarray((1.0 - share) * scores / total + share * uniform)


def model_shares(probabilities: FloatArray, m: int) -> FloatArray:
    """Each model's share of appearances (sums to 1) under pair ``probabilities``."""
    p = np.asarray(probabilities, dtype=np.float64)
    total = p.sum()
    if total <= 0:
        return np.zeros(m)
    i, j = pair_index(m)
    out = np.bincount(i, weights=p, minlength=m) + np.bincount(j, weights=p, minlength=m)
    return np.asarray(out / (2.0 * total))


__all__ = [
    "active_pair_scores",
    "fisher_covariance",
    "mix_uniform",
    "model_shares",
    "pair_count_matrix",
    "pair_index",
    "paper_pair_scores",
    "uniform_pair_scores",
    "weighted_pair_scores",
]
