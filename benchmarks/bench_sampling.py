"""Votes each pair-sampling policy needs before the board is sharp (issue 13).

A simulated arena of 30 models with known strengths, shaped like a real board:
a crowded top ten 8 Elo points apart from 1300 (Chatbot Arena's 2024-08-14 top
ten spans 57 points, gaps 0-17), then 20 models evenly over 1230..850 (the rest
of that board spans 1251..799). Each vote: a tie with probability 0.15, else a
noisy voter (probability 0.1) picks a side at random, else Bradley-Terry decides.

Each policy draws its pairs through the app's own sampler
(``arena.services.sampling.build_policy`` / ``PairPolicy.draw``), fed by the
ratings engine's live fit (``arena.services.leaderboard.FIT_OPTIONS``: sandwich
intervals, ties as half, FastChat's prior) as the live board refits it. Many
voters draw from one board between two refits, so the board is refitted after
every batch of max(25, 1 % of the votes so far) votes; the thresholds below are
read at those refits (so to within 1 %).

Reported per policy, median and 10th-90th percentiles over the seeds:
* votes until the mean 95 % interval width falls under 20 points;
* votes until the true top ten is the estimated top ten, in order (runs go on to
  --max-votes; a run that never gets there counts as not reached).
A second scenario: a new model joins a settled board (30,000 uniform votes among the
other 29); votes until its interval is under 40 points, per policy. And the bound:
the best fixed allocation of votes to pairs, computed from the true strengths, which
no policy can beat by much. And the draw time from a built policy at 30 and 200
models, and the time to build one (once per board version).

    .venv/bin/python benchmarks/bench_sampling.py [--seeds 20] [--max-votes 150000]

Target: active needs at least 30 % fewer votes than uniform for the interval
target, and no more for the top-ten order.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from arena.config import SamplingSettings  # noqa: E402
from arena.services.leaderboard import FIT_OPTIONS  # noqa: E402
from arena.services.sampling import (  # noqa: E402
    BoardState,
    PairPolicy,
    board_arrays,
    build_policy,
)
from ratings import (  # noqa: E402
    SKLEARN_C1_L2,
    Battles,
    RatingsWarning,
    aggregate,
    compute_leaderboard,
)
from ratings.sampling import active_pair_scores, mix_uniform, paper_pair_scores  # noqa: E402

TIE_RATE = 0.15
NOISE = 0.10
WIDTH_TARGET = 20.0
TOP = 10
NEWCOMER_MIN_VOTES = 30


def true_ratings() -> dict[str, float]:
    top = [1300.0 - 8.0 * k for k in range(TOP)]
    rest = np.linspace(1230.0, 850.0, 30 - TOP).tolist()
    return {f"model-{k:02d}": r for k, r in enumerate(top + rest)}


def outcomes_of(ra: np.ndarray, rb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0 a wins, 1 b wins, 2 tie: a tie with TIE_RATE, else a noisy voter (NOISE) flips a
    coin, else Bradley-Terry on the true ratings."""
    k = ra.shape[0]
    p = 1.0 / (1.0 + 10.0 ** ((rb - ra) / 400.0))
    u = rng.random(k)
    p = np.where(rng.random(k) < NOISE, 0.5, p)
    return np.where(rng.random(k) < TIE_RATE, 2, np.where(u < p, 0, 1)).astype(np.int8)


def crossing(before: tuple[int, float], after: tuple[int, float]) -> int:
    """Votes at which the mean width crossed WIDTH_TARGET between two refits, on the line
    through them in log-log space (widths shrink like a power of the votes): read at
    refits alone the figure would move in steps of 1 %."""
    (n0, w0), (n1, w1) = before, after
    if w0 <= w1:
        return n1
    t = (np.log(WIDTH_TARGET) - np.log(w0)) / (np.log(w1) - np.log(w0))
    return int(round(float(np.exp(np.log(n0) + t * (np.log(n1) - np.log(n0))))))


def cast(pair_policy: PairPolicy, batch: int, n: int,
         columns: tuple[np.ndarray, np.ndarray, np.ndarray], index: dict[str, int],
         strength: np.ndarray, rng: random.Random, outcomes: np.random.Generator) -> int:
    """*batch* votes on pairs drawn by *pair_policy*, written from row *n*; the new n."""
    a, b, y = columns
    for k in range(n, n + batch):
        left, right = pair_policy.draw(rng)
        a[k], b[k] = index[left], index[right]
    sl = slice(n, n + batch)
    y[sl] = outcomes_of(strength[a[sl]], strength[b[sl]], outcomes)
    return n + batch


def refit(names: tuple[str, ...], a: np.ndarray, b: np.ndarray, y: np.ndarray,
          version: int) -> tuple[Any, BoardState]:
    """The live board's fit and what the sampler reads of it."""
    battles = Battles(names, a, b, y, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RatingsWarning)
        fit = compute_leaderboard(battles, **FIT_OPTIONS)
    pairs = aggregate(battles)
    return fit, BoardState.from_fit(fit.rows, names, pairs.i, pairs.j,
                                    pairs.count.sum(axis=1), version=version)


def newcomer(policy: str, seed: int, settled: int, target: float, cap: int) -> int | None:
    """Votes after a new model joins a board of *settled* uniform votes among the other
    29 until the newcomer's interval is narrower than *target* points."""
    truth = true_ratings()
    names = tuple(truth)
    newest = names[14]  # mid-table
    strength = np.array([truth[n] for n in names])
    rng, outcomes = random.Random(seed), np.random.default_rng(seed)
    old = [k for k, n in enumerate(names) if n != newest]
    a = np.empty(settled + cap, np.int64)
    b = np.empty(settled + cap, np.int64)
    for k in range(settled):
        a[k], b[k] = rng.sample(old, 2)
    y = np.empty(settled + cap, np.int8)
    y[:settled] = outcomes_of(strength[a[:settled]], strength[b[:settled]], outcomes)
    settings = SamplingSettings(policy=policy)  # type: ignore[arg-type]
    index = {n: k for k, n in enumerate(names)}
    n = settled
    _, state = refit(names, a[:n], b[:n], y[:n], n)
    while n < settled + cap:
        pair_policy = build_policy(settings, names, state)
        batch = min(max(25, (n - settled) // 100), settled + cap - n)
        n = cast(pair_policy, batch, n, (a, b, y), index, strength, rng, outcomes)
        fit, state = refit(names, a[:n], b[:n], y[:n], n)
        row = next((r for r in fit.rows if r.model == newest), None)
        # A sandwich interval from a handful of votes can be spuriously narrow (two ties
        # leave almost no residual): the newcomer needs NEWCOMER_MIN_VOTES first.
        if row is not None and row.votes >= NEWCOMER_MIN_VOTES and row.upper - row.lower < target:
            return n - settled
    return None


def simulate(policy: str, seed: int, max_votes: int, share: float) -> tuple[int | None, int | None]:
    truth = true_ratings()
    names = tuple(truth)
    index = {n: k for k, n in enumerate(names)}
    strength = np.array([truth[n] for n in names])
    true_top = list(names[:TOP])
    settings = SamplingSettings(policy="active" if policy in ("paper", "active-width") else policy,  # type: ignore[arg-type]
                                uniform_share=share)
    rng = random.Random(seed)
    outcomes = np.random.default_rng(seed)
    a = np.empty(max_votes, np.int64)
    b = np.empty(max_votes, np.int64)
    y = np.empty(max_votes, np.int8)
    n = 0
    state = BoardState.empty()
    width_at = order_at = None
    previous: tuple[int, float] | None = None
    while n < max_votes and (width_at is None or order_at is None):
        if policy == "paper":
            pair_policy = paper_policy(names, state, share)
        elif policy == "active-width":
            pair_policy = width_policy(names, state, share)
        else:
            pair_policy = build_policy(settings, names, state)
        batch = min(max(25, n // 100), max_votes - n)
        n = cast(pair_policy, batch, n, (a, b, y), index, strength, rng, outcomes)
        fit, state = refit(names, a[:n], b[:n], y[:n], n)
        rows = fit.rows
        if width_at is None and len(rows) == len(names):
            width = float(np.mean([r.upper - r.lower for r in rows]))
            if width < WIDTH_TARGET:
                width_at = crossing(previous, (n, width)) if previous else n
            previous = (n, width)
        if order_at is None and [r.model for r in rows[:TOP]] == true_top:
            order_at = n
    return width_at, order_at


def width_policy(names: tuple[str, ...], state: BoardState, share: float) -> PairPolicy:
    """The active rule on the intervals alone, without the order term (ratings.sampling)."""
    theta, counts = board_arrays(state, names)
    scores = active_pair_scores(theta, counts, SKLEARN_C1_L2, order=False)
    return PairPolicy.of("active-width", names, mix_uniform(scores, share))


def paper_policy(names: tuple[str, ...], state: BoardState, share: float) -> PairPolicy:
    """Chiang et al. (2024) §4's rule through the app's PairPolicy, for comparison."""
    theta, counts = board_arrays(state, names)
    return PairPolicy.of("paper", names, mix_uniform(paper_pair_scores(theta, counts), share))


def best_design_ratio(votes: int = 60_000) -> tuple[float, float]:
    """Mean interval width of the best fixed allocation of votes to pairs, and of the
    uniform one, from the true strengths (the sim's ties and noise included): no policy
    can beat the best allocation by much, whatever it reads."""
    r = np.array(list(true_ratings().values()))
    m = r.shape[0]
    i, j = np.triu_indices(m, 1)
    p = 1.0 / (1.0 + 10.0 ** ((r[j] - r[i]) / 400.0))
    p = (1 - TIE_RATE) * ((1 - NOISE) * p + NOISE / 2) + TIE_RATE / 2
    v = p * (1 - p)

    def widths(pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = np.zeros((m, m))
        w[i, j] = w[j, i] = pi * v * votes
        cov = np.linalg.pinv(np.diag(w.sum(1)) - w)
        return 2 * 1.96 * 400 / np.log(10) * np.sqrt(np.diag(cov)), cov

    uniform = np.full(i.shape[0], 1.0 / i.shape[0])
    pi = uniform.copy()
    for _ in range(2000):  # multiplicative updates towards the width-optimal design
        sd, cov = widths(pi)
        g = (cov / sd[None, :]) @ cov
        pi = pi * np.sqrt(v * (g[i, i] + g[j, j] - 2 * g[i, j]))
        pi /= pi.sum()
    return float(widths(pi)[0].mean()), float(widths(uniform)[0].mean())


def summary(values: list[int | None]) -> str:
    reached = sorted(v for v in values if v is not None)
    missing = len(values) - len(reached)
    if not reached:
        return f"not reached in {missing} runs"
    q = np.percentile(reached, [10, 50, 90])
    note = f", not reached in {missing}" if missing else ""
    return f"median {q[1]:8,.0f}  (p10 {q[0]:,.0f} .. p90 {q[2]:,.0f}{note})"


def median_of(values: list[int | None], cap: int) -> float:
    return float(statistics.median(cap if v is None else v for v in values))


def draw_times(models: int, policy: str) -> tuple[float, float]:
    names = [f"m{k:03d}" for k in range(models)]
    rng = random.Random(0)
    theta = {n: rng.gauss(0.0, 1.0) for n in names}
    votes = dict.fromkeys(names, 500)
    pairs = {(a, b): 20.0 for k, a in enumerate(names) for b in names[k + 1:]}
    state = BoardState(theta, pairs, votes, version=1)
    settings = SamplingSettings(policy=policy)  # type: ignore[arg-type]
    start = time.perf_counter()
    for _ in range(5):
        built = build_policy(settings, names, state)
    build = (time.perf_counter() - start) / 5
    start = time.perf_counter()
    rounds = 20_000
    for _ in range(rounds):
        built.draw(rng)
    return build, (time.perf_counter() - start) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--max-votes", type=int, default=300_000)
    parser.add_argument("--policies", nargs="+",
                        default=["uniform", "active", "active-width", "paper"])
    parser.add_argument("--uniform-share", type=float,
                        default=SamplingSettings().uniform_share)
    parser.add_argument("--settled", type=int, default=30_000)
    parser.add_argument("--newcomer-width", type=float, default=40.0)
    args = parser.parse_args()

    print(f"30 models, ties {TIE_RATE:.0%}, noisy voters {NOISE:.0%}, {args.seeds} seeds, "
          f"runs stop at {args.max_votes:,} votes; active uniform share {args.uniform_share}")
    results: dict[str, tuple[list[int | None], list[int | None]]] = {}
    for policy in args.policies:
        start = time.perf_counter()
        runs = [simulate(policy, seed, args.max_votes, args.uniform_share)
                for seed in range(args.seeds)]
        results[policy] = ([w for w, _ in runs], [o for _, o in runs])
        print(f"\n{policy}  ({time.perf_counter() - start:.0f} s)")
        width, order = results[policy]
        print(f"  votes to mean 95% interval < {WIDTH_TARGET:.0f} pts: {summary(width)}")
        print(f"  votes to true top {TOP} in order:        {summary(order)}")
    if "uniform" in results and "active" in results:
        cap = args.max_votes
        w_u, w_a = (median_of(results[p][0], cap) for p in ("uniform", "active"))
        o_u, o_a = (median_of(results[p][1], cap) for p in ("uniform", "active"))
        print(f"\nactive / uniform, interval target: {w_a / w_u:.2f} "
              f"({1 - w_a / w_u:+.0%} votes saved; target at least 30 %)")
        print(f"active / uniform, top-{TOP} order:     {o_a / o_u:.2f} (target at most 1.00; "
              "a run not reached counts as the cap)")
    print(f"\na new model joins a board of {args.settled:,} votes among the other 29: votes "
          f"until its 95% interval is under {args.newcomer_width:.0f} pts ({args.seeds} seeds)")
    arrivals: dict[str, list[int | None]] = {}
    for policy in ("uniform", "weighted", "active"):
        arrivals[policy] = [newcomer(policy, seed, args.settled, args.newcomer_width, 20_000)
                            for seed in range(args.seeds)]
        print(f"  {policy:8s}: {summary(arrivals[policy])}")
    w_u = median_of(arrivals["uniform"], 20_000)
    print(f"  active / uniform: {median_of(arrivals['active'], 20_000) / w_u:.2f}; "
          f"weighted (boost {SamplingSettings().new_model_boost:g}) / uniform: "
          f"{median_of(arrivals['weighted'], 20_000) / w_u:.2f}")

    best, uniform = best_design_ratio()
    print(f"\nbound: at 60,000 votes the best fixed allocation of votes to pairs (from the "
          f"true strengths) gives a mean width of {best:.2f} pts against uniform's "
          f"{uniform:.2f}: it needs {1 - (best / uniform) ** 2:.1%} fewer votes for the same "
          "width, the most any policy can save on this board")
    print("\ndraw time from a built policy (build: once per board version)")
    for models in (30, 200):
        for policy in ("uniform", "active"):
            build, draw = draw_times(models, policy)
            print(f"  {models:3d} models {policy:8s}: draw {draw * 1e6:6.1f} µs, "
                  f"build {build * 1e3:6.2f} ms")


if __name__ == "__main__":
    main()
