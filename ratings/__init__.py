"""Arena ratings engine: Bradley-Terry leaderboards with uncertainty.

Pure numpy (plus the standard library); no web or database imports.

Quick start
-----------
>>> from ratings import compute_leaderboard
>>> board = compute_leaderboard(records)            # doctest: +SKIP
>>> [(r.model, round(r.rating), r.rank_ub) for r in board.rows]  # doctest: +SKIP

``records`` is an iterable of FastChat ``clean_battle`` mappings (``model_a``,
``model_b``, ``winner`` in {"model_a", "model_b", "tie", "tie (bothbad)"}), a
mapping of parallel arrays ``{"model_a": ..., "model_b": ..., "winner": ...,
["weight", "features"]}``, or a :class:`Battles` object.

``compute_leaderboard(data, *, ci="sandwich", bootstrap_rounds=100,
ties="half", style_control=False, anchor=None, l2=0.0, level=0.95, seed=0,
reweight=False, frequency_weights=False, outcome_map=DEFAULT_OUTCOME_MAP,
style_length="tokens", style_reg=1.0, style_hessian_prior=False, scale=400,
base=10, init=1000) -> Leaderboard``

* Ratings are ``init + scale * theta / ln(base)`` of the Bradley-Terry
  maximum-likelihood (or, with ``l2 > 0``, maximum a posteriori with prior
  ``N(0, 1/l2)`` on each natural-log strength ``theta``) estimate, fitted by
  Newton's method on counts aggregated by model pair and outcome.  Without an
  anchor each connected component has mean rating ``init`` (with ``l2 > 0``
  this holds at the optimum too, so nothing is re-centred); ``anchor=(model,
  rating)`` shifts all ratings so that ``model`` has ``rating`` and its
  interval has zero width (the others are for differences to it).  The
  published GenAI-Arena leaderboard is scikit-learn stopped at its default
  tolerance: our exact optimum is within 0.01 of scikit-learn converged and
  up to 2.6 points from the published column (see ``tests/ratings``).
  FastChat's scikit-learn fit (``C=1`` on rows duplicated so that a tie is
  one win each way) equals ``l2 = 1 / (2 ln(10)^2)``, see :data:`SKLEARN_C1_L2`.
* ``ties``: ``"half"`` (a tie is half a win each way; default), ``"drop"``,
  ``"rao-kupper"`` or ``"davidson"`` (tie parameter estimated, reported as
  ``Leaderboard.tie_parameter``).  Which labels are ties is set by
  ``outcome_map`` (:data:`DROP_BOTHBAD_OUTCOME_MAP` drops "tie (bothbad)").
  Unknown labels always raise, never count as ties.
* ``ci``: ``"sandwich"`` (robust ``H^-1 J H^-1``) or ``"bootstrap"``
  (seeded multinomial resampling of the aggregated counts, all rounds fitted
  together by fixed-Hessian Newton from the full-data fit, falling back to
  batched damped Newton); percentile bounds.  The point estimate is always
  the full-data fit.  Interval level: ``level``.
* ``reweight``: inverse pair-frequency weights ``1 / max(n_pair, 50)``
  (arena-rank's ``reweighted=True``).
* ``frequency_weights``: the ``weight`` column holds counts (each row stands
  for that many battles, e.g. pre-aggregated data): the fit, the intervals
  and the bootstrap equal those of the expanded rows.  Otherwise weights are
  importance weights (they enter the sandwich "meat" squared).
* ``style_control``: contextual Bradley-Terry on z-scored per-battle style
  differences ``(a - b) / (a + b + 1)`` of length, headers, lists and bold;
  coefficients in ``Leaderboard.style_coefficients``.  ``style_reg`` is the
  L2 strength on the coefficients on the mean-loss scale (arena-rank's
  default 1.0).  The sandwich "bread" leaves that prior out, as arena-rank
  0.1.1 does, unless ``style_hessian_prior=True`` (the textbook penalised
  M-estimator form; intervals then differ from arena-rank's).
* Rows carry ``model, rating, lower, upper, rank, rank_ub, votes, win_rate,
  component``; ``rank_ub = 1 +`` the number of models whose lower bound is
  above this model's upper bound.  ``Leaderboard.components`` lists the
  connected components of the comparison graph; more than one also issues a
  :class:`RatingsWarning`.

Lower-level pieces: :mod:`ratings.data` (labels, battle arrays, aggregation),
:mod:`ratings.records` (clean_battle files with line-numbered errors),
:mod:`ratings.bradley_terry`, :mod:`ratings.ties`, :mod:`ratings.intervals`,
:mod:`ratings.style`, :mod:`ratings.elo` (online Elo), :mod:`ratings.tables`
(win-rate, pairwise, count and predicted-probability matrices),
:mod:`ratings.graph`, :mod:`ratings.fitting` (the fits behind
``compute_leaderboard``).

Raises
------
RatingsInputError
    (a ``ValueError``) for unknown winner values, a model playing itself,
    empty data, NaN weights, malformed files (with file and line).
RatingsFitError
    When the maximum-likelihood estimate does not exist (a model that never
    lost or never won within its component; use ``l2 > 0``).
"""

from __future__ import annotations

import math

from ratings.data import (
    DEFAULT_OUTCOME_MAP,
    DROP_BOTHBAD_OUTCOME_MAP,
    WINNER_LABELS,
    BattleChunks,
    Battles,
    Outcome,
    PairCounts,
    aggregate,
    battles_from_arrays,
)
from ratings.elo import online_elo
from ratings.errors import RatingsError, RatingsFitError, RatingsInputError, RatingsWarning
from ratings.leaderboard import (
    TIES_OPTIONS,
    Leaderboard,
    ModelRating,
    compute_leaderboard,
    leaderboard_from_pairs,
)
from ratings.records import battles_from_records, read_battle_file
from ratings.tables import battle_count_matrix, predicted_win_matrix, win_fraction_matrix, win_rates

SKLEARN_C1_L2: float = 1.0 / (2.0 * math.log(10.0) ** 2)
"""``l2`` equal to FastChat's ``LogisticRegression(C=1)`` on duplicated rows."""

__all__ = [
    "DEFAULT_OUTCOME_MAP",
    "DROP_BOTHBAD_OUTCOME_MAP",
    "SKLEARN_C1_L2",
    "TIES_OPTIONS",
    "WINNER_LABELS",
    "BattleChunks",
    "Battles",
    "Leaderboard",
    "ModelRating",
    "Outcome",
    "PairCounts",
    "RatingsError",
    "RatingsFitError",
    "RatingsInputError",
    "RatingsWarning",
    "aggregate",
    "battle_count_matrix",
    "battles_from_arrays",
    "battles_from_records",
    "compute_leaderboard",
    "leaderboard_from_pairs",
    "online_elo",
    "predicted_win_matrix",
    "read_battle_file",
    "win_fraction_matrix",
    "win_rates",
]
