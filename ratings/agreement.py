"""How far two sources of verdicts agree: a judge's and people's, or two boards.

Board level (two ratings of the same models):

* :func:`spearman`: Spearman's rho, the Pearson correlation of the ranks, tied values
  sharing their average rank.
* :func:`kendall_tau_b`: Kendall's tau-b, ``(C - D) / sqrt((n0 - n1)(n0 - n2))`` with
  ``C``/``D`` the concordant/discordant pairs, ``n0`` all pairs and ``n1``/``n2`` the
  pairs tied in each ranking (Kendall 1945, "The treatment of ties in ranking
  problems").
* :func:`separability`: the share of model pairs whose confidence intervals do not
  overlap, Arena-Hard's measure of how well a board tells models apart (Li et al. 2024,
  "From crowdsourced data to high-quality benchmarks").

Battle level (verdicts coded 0 = A better, 1 = B better, 2 = tie):

* :func:`verdict_agreement`: the share of battles judged by both on which they agree,
  with ties as a third class, or only over battles both called for one side (the two
  figures MT-bench reports; Zheng et al. 2023, "Judging LLM-as-a-judge", §4.2).
* :func:`position_bias_rate`: the share of battles a judge saw in both orders whose
  two verdicts disagree once the second is mapped back (A <-> B).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ratings.typing import FloatArray

A_BETTER, B_BETTER, TIE = 0, 1, 2


def average_ranks(values: ArrayLike) -> FloatArray:
    """1-based ranks, ascending; tied values share the mean of their ranks."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(x.shape[0])
    sorted_x = x[order]
    start = 0
    for end in range(1, x.shape[0] + 1):
        if end == x.shape[0] or sorted_x[end] != sorted_x[start]:
            ranks[order[start:end]] = (start + end + 1) / 2.0
            start = end
    return ranks


def spearman(x: ArrayLike, y: ArrayLike) -> float:
    """Spearman's rho of two equally long sequences (nan when either is constant)."""
    rx, ry = average_ranks(x), average_ranks(y)
    if rx.shape != ry.shape:
        raise ValueError("x and y must have the same length")
    dx, dy = rx - rx.mean(), ry - ry.mean()
    denominator = float(np.sqrt((dx * dx).sum() * (dy * dy).sum()))
    return float((dx * dy).sum() / denominator) if denominator else float("nan")


def kendall_tau_b(x: ArrayLike, y: ArrayLike) -> float:
    """Kendall's tau-b (nan when either sequence is constant); O(n^2), for boards."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError("x and y must have the same length")
    i, j = np.triu_indices(a.shape[0], k=1)
    sx, sy = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
    n0 = i.shape[0]
    n1, n2 = int((sx == 0).sum()), int((sy == 0).sum())
    denominator = float(np.sqrt((n0 - n1) * (n0 - n2)))
    return float((sx * sy).sum() / denominator) if denominator else float("nan")


def separability(lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of model pairs whose intervals ``[lower, upper]`` do not overlap."""
    lo, hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    i, j = np.triu_indices(lo.shape[0], k=1)
    if i.shape[0] == 0:
        return float("nan")
    apart = (lo[i] > hi[j]) | (lo[j] > hi[i])
    return float(apart.mean())


@dataclass(frozen=True)
class Agreement:
    """Agreement of two verdict sequences on the same battles."""

    with_ties: float  # share of all battles with the same verdict
    battles: int
    without_ties: float  # share, over battles both called for a side, on the same side
    decided: int


def verdict_agreement(first: ArrayLike, second: ArrayLike) -> Agreement:
    """Agreement of two sequences of verdict codes (0 A, 1 B, 2 tie) on the same battles."""
    a, b = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    if a.shape != b.shape:
        raise ValueError("the two verdict sequences must have the same length")
    if ((a < 0) | (a > 2) | (b < 0) | (b > 2)).any():
        raise ValueError("verdicts must be 0 (A better), 1 (B better) or 2 (tie)")
    decided = (a != TIE) & (b != TIE)
    return Agreement(
        with_ties=float((a == b).mean()) if a.size else float("nan"),
        battles=int(a.size),
        without_ties=float((a[decided] == b[decided]).mean()) if decided.any() else float("nan"),
        decided=int(decided.sum()),
    )


def swap(verdicts: ArrayLike) -> np.ndarray:
    """Verdicts on the battle with its sides swapped: A <-> B, a tie stays a tie."""
    v = np.asarray(verdicts, dtype=np.int64)
    return np.where(v == A_BETTER, B_BETTER, np.where(v == B_BETTER, A_BETTER, v))


def position_bias_rate(in_order: ArrayLike, swapped_order: ArrayLike) -> float:
    """Share of battles whose verdict shown A/B and verdict shown B/A (as given by the
    judge, about its own left and right) disagree once the second is swapped back."""
    first = np.asarray(in_order, dtype=np.int64)
    back = swap(swapped_order)
    if first.shape != back.shape:
        raise ValueError("both orders must cover the same battles")
    return float((first != back).mean()) if first.size else float("nan")


__all__ = [
    "A_BETTER",
    "B_BETTER",
    "TIE",
    "Agreement",
    "average_ranks",
    "kendall_tau_b",
    "position_bias_rate",
    "separability",
    "spearman",
    "swap",
    "verdict_agreement",
]
