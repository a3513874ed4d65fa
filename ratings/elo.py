"""Online Elo ratings (Elo 1978, "The Rating of Chessplayers, Past and Present").

A secondary, order-dependent view: each battle moves the two ratings by
``K (S - E)`` with ``E = 1 / (1 + base^((R_b - R_a) / scale))`` and ``S`` = 1, 0
or 1/2 for a tie, as in FastChat's ``compute_online_elo``.
"""

from __future__ import annotations

import numpy as np

from ratings.data import Battles
from ratings.typing import FloatArray

_SCORE = (1.0, 0.0, 0.5)


def online_elo(
    battles: Battles,
    *,
    k: float = 4.0,
    base: float = 10.0,
    scale: float = 400.0,
    init: float = 1000.0,
) -> FloatArray:
    """Run online Elo over the battles in their given order.

    Parameters
    ----------
    battles : Battles
        In chronological order (sort by time before calling).
    k : float
        Update step (FastChat uses 4).
    base, scale, init : float
        Logistic base, rating scale and starting rating.

    Returns
    -------
    ndarray, shape (n_models,)
        Final ratings, indexed like ``battles.models``.

    Raises
    ------
    ValueError
        If ``k``, ``base`` or ``scale`` is not positive.
    """
    if k <= 0 or base <= 1 or scale <= 0:
        raise ValueError("k and scale must be positive and base > 1")
    ratings = [init] * battles.n_models
    for a, b, o in zip(
        battles.a.tolist(), battles.b.tolist(), battles.outcome.tolist(), strict=True
    ):
        ra, rb = ratings[a], ratings[b]
        ea = 1.0 / (1.0 + base ** ((rb - ra) / scale))
        delta = k * (_SCORE[o] - ea)
        ratings[a] = ra + delta
        ratings[b] = rb - delta
    return np.asarray(ratings, dtype=np.float64)


__all__ = ["online_elo"]
