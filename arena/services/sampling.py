"""Which two models the next battle shows: the one place a pair is drawn.

Answer-set battles (arena.services.battles) and live battles (arena.services.live)
both ask :class:`Sampler` for a :class:`PairPolicy` over the models they may draw
(paused, unavailable and weight-0 models already left out) and draw from it. The
policy (``battle.sampling.policy``) scores pairs with ``ratings.sampling``:

    uniform   every pair alike
    weighted  w_a * w_b, with w from ``battle.sampling.weights`` (and a live model's
              own ``weight``), times ``new_model_boost`` while a model has fewer than
              ``new_model_votes`` votes on the board
    active    the pairs whose next vote narrows the board's intervals most, mixed
              with a ``uniform_share`` of uniform draws

Active and boosted draws read the live board this process already keeps (its
ratings and pair counts; no fit of their own), at most ``refresh_seconds`` old.
A policy is built once per board and set of models, so a draw is one binary search.
"""

from __future__ import annotations

import math
import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from arena.config import SamplingSettings
from arena.models import SamplingIntent, utcnow
from arena.services.errors import NotFound
from ratings import SKLEARN_C1_L2
from ratings.sampling import (
    active_pair_scores,
    mix_uniform,
    model_shares,
    pair_count_matrix,
    pair_index,
    uniform_pair_scores,
    weighted_pair_scores,
)

ELO_TO_THETA = math.log(10.0) / 400.0
REJECTION_TRIES = 32


class NoPair(NotFound):
    """No two models can be drawn (fewer than two available, or every weight zero)."""


@dataclass(frozen=True)
class BoardState:
    """What the policies read of the live board: ratings, pair counts and votes."""

    theta: Mapping[str, float]
    pair_votes: Mapping[tuple[str, str], float]
    votes: Mapping[str, int]
    version: object = None

    @classmethod
    def empty(cls) -> BoardState:
        return cls({}, {}, {})

    @classmethod
    def from_fit(cls, rows: Sequence[object], models: Sequence[str],
                 pair_i: Sequence[int], pair_j: Sequence[int], pair_n: Sequence[float],
                 *, init: float = 1000.0, version: object = None) -> BoardState:
        """From a fit's rows (model, rating on the Elo scale, votes) and its pair counts
        (indices into *models*): how the live board and the benchmark both build it."""
        theta = {r.model: (r.rating - init) * ELO_TO_THETA for r in rows}  # type: ignore[attr-defined]
        votes = {r.model: int(r.votes) for r in rows}  # type: ignore[attr-defined]
        pairs: dict[tuple[str, str], float] = {}
        for a, b, n in zip(pair_i, pair_j, pair_n, strict=True):
            key = tuple(sorted((models[int(a)], models[int(b)])))
            pairs[key] = pairs.get(key, 0.0) + float(n)  # type: ignore[index]
        return cls(theta, pairs, votes, version)


@dataclass(frozen=True)
class PairPolicy:
    """A probability for each unordered pair of ``models``; ``draw`` picks one."""

    policy: str
    models: tuple[str, ...]
    i: np.ndarray
    j: np.ndarray
    probability: np.ndarray
    cumulative: np.ndarray
    intent_id: int | None = None  # its row in sampling_intent, when recorded

    @classmethod
    def of(cls, policy: str, models: tuple[str, ...], probability: np.ndarray) -> PairPolicy:
        total = float(probability.sum())
        if not models or total <= 0 or not math.isfinite(total):
            raise NoPair(_no_pair_message(models))
        p = probability / total
        i, j = pair_index(len(models))
        return cls(policy, models, i, j, p, np.cumsum(p))

    def shares(self) -> dict[str, float]:
        """Each model's intended share of appearances (sums to 1)."""
        return dict(zip(self.models, model_shares(self.probability, len(self.models)).tolist(),
                        strict=True))

    def draw(self, rng: random.Random,
             allowed: Callable[[str, str], bool] | None = None) -> tuple[str, str]:
        """Two different models, in random left/right order; only pairs *allowed* accepts
        (NoPair when none does)."""
        for _ in range(REJECTION_TRIES if allowed else 1):
            k = int(np.searchsorted(self.cumulative, rng.random() * self.cumulative[-1],
                                    side="right"))
            k = min(k, len(self.cumulative) - 1)
            while self.probability[k] == 0:  # a float edge: step to a drawable pair
                k = (k + 1) % len(self.probability)
            pair = (self.models[self.i[k]], self.models[self.j[k]])
            if allowed is None or allowed(*pair):
                return _shuffled(pair, rng)
        # Rarely reached: most pairs refused; draw among the allowed ones exactly.
        keep = np.array([p > 0 and allowed(self.models[a], self.models[b])  # type: ignore[misc]
                         for p, a, b in zip(self.probability, self.i, self.j, strict=True)])
        if not keep.any():
            raise NoPair("no pair of models is left to show you here")
        weights = self.probability * keep
        k = int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum(), side="right"))
        k = min(k, len(weights) - 1)
        while weights[k] == 0:
            k = (k + 1) % len(weights)
        return _shuffled((self.models[self.i[k]], self.models[self.j[k]]), rng)


def _shuffled(pair: tuple[str, str], rng: random.Random) -> tuple[str, str]:
    return pair if rng.random() < 0.5 else (pair[1], pair[0])


def _no_pair_message(models: Sequence[str]) -> str:
    if len(models) < 2:
        return (f"{'no model is' if not models else 'only one model is'} available to "
                "battle right now: at least two are needed")
    return ("every available model has sampling weight 0 (battle.sampling.weights): "
            "give at least two a weight above 0")


def board_arrays(state: BoardState, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Ratings (a model without votes gets the mean) and the pair-count matrix over *names*."""
    rated = [state.theta[n] for n in names if n in state.theta]
    fill = float(np.mean(rated)) if rated else 0.0
    theta = np.array([state.theta.get(n, fill) for n in names])
    index = {n: k for k, n in enumerate(names)}
    keys = [k for k in state.pair_votes if k[0] in index and k[1] in index]
    counts = pair_count_matrix(len(names), np.array([index[a] for a, _ in keys], np.int64),
                               np.array([index[b] for _, b in keys], np.int64),
                               np.array([state.pair_votes[k] for k in keys], np.float64))
    return theta, counts


def build_policy(settings: SamplingSettings, models: Sequence[str], state: BoardState,
                 *, model_weights: Mapping[str, float] | None = None) -> PairPolicy:
    """The pair probabilities of ``settings.policy`` over *models* (NoPair: none).

    *model_weights*: extra per-model weights (a live model's own ``weight``); a model
    whose weight, here or in ``settings.weights``, is 0 is never drawn by any policy.
    """
    names = tuple(sorted(set(models)))
    extra = model_weights or {}
    base = np.array([settings.weights.get(n, 1.0) * extra.get(n, 1.0) for n in names])
    available = (base > 0).astype(np.float64)
    if len(names) < 2:
        raise NoPair(_no_pair_message(names))
    weighted = [n for n, a in zip(names, available, strict=True) if a]
    if not weighted:
        raise NoPair(_no_pair_message(names))
    if len(weighted) < 2:
        raise NoPair(f"only one model ({weighted[0]}) has a sampling weight above 0 "
                     "(battle.sampling.weights, a live model's weight): at least two are needed")
    if settings.policy == "uniform":
        return PairPolicy.of("uniform", names, uniform_pair_scores(available))
    if settings.policy == "weighted":
        boost = np.array([settings.new_model_boost
                          if state.votes.get(n, 0) < settings.new_model_votes else 1.0
                          for n in names])
        return PairPolicy.of("weighted", names, weighted_pair_scores(base * boost))
    theta, counts = board_arrays(state, names)
    scores = active_pair_scores(theta, counts, SKLEARN_C1_L2, available)
    return PairPolicy.of("active", names, mix_uniform(scores, settings.uniform_share,
                                                      available))


def board_state(board: Any) -> BoardState:
    """The live board's (arena.services.leaderboard.Board) ratings and pair counts."""
    if board.fit is None or board.pairs is None:
        return BoardState({}, {}, {}, board.version)
    pairs = board.pairs
    return BoardState.from_fit(board.fit.rows, board.models, pairs.i, pairs.j,
                               pairs.count.sum(axis=1), version=board.version)


class Sampler:
    """This process's policies, rebuilt when the board or the drawable models change.

    *board_state* returns the current :class:`BoardState` (the app reads its live
    leaderboard); it is called at most every ``refresh_seconds``. With *record*, each
    new policy gets a random ``intent_id`` that the battles drawn under it keep; the
    first stored one writes the policy's intended shares (:meth:`persist_intent`), so a
    draw itself never writes.
    """

    def __init__(self, settings: SamplingSettings,
                 board_state: Callable[[], BoardState] | None = None,
                 *, record: bool = False) -> None:
        self.settings = settings
        self._board_state = board_state or BoardState.empty
        self._record = record
        self._intents: dict[int, PairPolicy] = {}
        self._persisted: set[int] = set()
        self._state: BoardState | None = None
        self._read_at = 0.0
        self._refreshing = False
        self._policies: dict[tuple[tuple[str, ...], tuple[tuple[str, float], ...]],
                             PairPolicy] = {}
        self._lock = threading.Lock()

    @property
    def reads_board(self) -> bool:
        return self.settings.policy == "active" or (
            self.settings.policy == "weighted" and self.settings.new_model_votes > 0
            and self.settings.new_model_boost != 1.0)

    def state(self) -> BoardState:
        if not self.reads_board:
            return BoardState.empty()
        now = time.monotonic()
        with self._lock:
            held = self._state
            if held is not None and (now - self._read_at < self.settings.refresh_seconds
                                     or self._refreshing):
                # One request refreshes; the others draw from the state it replaces
                # (each refresh reads the database: under load they piled up).
                return held
            self._refreshing = True
        try:
            state = self._board_state()
        finally:
            with self._lock:
                self._refreshing = False
        with self._lock:
            if self._state is None or state.version != self._state.version:
                self._policies.clear()
            self._state, self._read_at = state, now
        return state

    def policy(self, models: Sequence[str], model_weights: Mapping[str, float] | None = None,
               state: BoardState | None = None) -> PairPolicy:
        """The policy over *models*; *state* as read by :meth:`state` beforehand. (A request
        reads the board before its own session takes a connection: reading it with one
        held could exhaust the pool under load.)"""
        state = self.state() if state is None else state
        key = (tuple(sorted(set(models))), tuple(sorted((model_weights or {}).items())))
        with self._lock:
            cached = self._policies.get(key)
        if cached is not None:
            return cached
        built = build_policy(self.settings, models, state, model_weights=model_weights)
        if self._record:
            built = replace(built, intent_id=secrets.randbits(62))
        with self._lock:
            if len(self._policies) > 64:
                self._policies.clear()
            self._policies[key] = built
            if built.intent_id is not None:
                if len(self._intents) > 1024:  # battles drawn long ago lose their intent
                    self._intents.clear()
                self._intents[built.intent_id] = built
        return built

    def persist_intent(self, session: Session, intent_id: int | None) -> None:
        """Store (in the caller's transaction, once) the intended shares of the policy a
        battle about to be stored was drawn under; call :meth:`persisted` after commit."""
        if intent_id is None or intent_id in self._persisted:
            return
        policy = self._intents.get(intent_id)
        if policy is None:
            return
        table = SamplingIntent.__table__  # type: ignore[attr-defined]
        insert = (pg_insert if session.get_bind().dialect.name == "postgresql"
                  else sqlite_insert)(table)
        session.execute(insert.values(id=intent_id, policy=policy.policy,
                                      shares=policy.shares(), created_at=utcnow())
                        .on_conflict_do_nothing())

    def persisted(self, intent_id: int | None) -> None:
        if intent_id is not None:
            if len(self._persisted) > 4096:  # forgetting only costs a no-op insert later
                self._persisted.clear()
            self._persisted.add(intent_id)


__all__ = ["BoardState", "NoPair", "PairPolicy", "Sampler", "board_state", "build_policy"]
