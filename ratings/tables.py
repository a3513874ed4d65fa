"""Descriptive tables: win rates, pairwise win fractions, counts, predicted win probabilities."""

from __future__ import annotations

import numpy as np

from ratings.data import PairCounts
from ratings.typing import FloatArray


def battle_count_matrix(pc: PairCounts) -> FloatArray:
    """Symmetric ``(m, m)`` matrix of battle counts per model pair."""
    out = np.zeros((pc.n_models, pc.n_models))
    tot = pc.count.sum(axis=1)
    out[pc.i, pc.j] = tot
    out[pc.j, pc.i] = tot
    return out


def win_fraction_matrix(pc: PairCounts) -> FloatArray:
    """Fraction of battles row model won against column model (ties count half).

    Entries of pairs that never met are NaN; ``W + W.T == 1`` elsewhere.
    """
    out = np.full((pc.n_models, pc.n_models), np.nan)
    tot = pc.count.sum(axis=1)
    out[pc.i, pc.j] = (pc.count[:, 0] + 0.5 * pc.count[:, 2]) / tot
    out[pc.j, pc.i] = (pc.count[:, 1] + 0.5 * pc.count[:, 2]) / tot
    return out


def win_rates(pc: PairCounts) -> tuple[FloatArray, FloatArray]:
    """Per-model win rate (ties as half a win) and number of battles.

    Returns
    -------
    win_rate : ndarray, shape (m,)
        NaN for a model without battles.
    votes : ndarray, shape (m,)
    """
    m = pc.n_models
    won = np.bincount(pc.i, pc.count[:, 0] + 0.5 * pc.count[:, 2], m) + np.bincount(
        pc.j, pc.count[:, 1] + 0.5 * pc.count[:, 2], m
    )
    tot = pc.count.sum(axis=1)
    votes = np.asarray(np.bincount(pc.i, tot, m) + np.bincount(pc.j, tot, m), dtype=np.float64)
    rate = np.divide(won, votes, out=np.full(m, np.nan), where=votes > 0)
    return rate, votes


def predicted_win_matrix(
    ratings: FloatArray, *, base: float = 10.0, scale: float = 400.0
) -> FloatArray:
    """``P[i, j] = 1 / (1 + base^((r_j - r_i) / scale))`` from Elo-scale ratings."""
    diff = ratings[None, :] - ratings[:, None]
    return np.asarray(1.0 / (1.0 + np.power(base, diff / scale)))


__all__ = ["battle_count_matrix", "predicted_win_matrix", "win_fraction_matrix", "win_rates"]
