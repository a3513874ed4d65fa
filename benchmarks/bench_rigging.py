"""How many rigged votes does it take to move a model up one rank, without and with defences?

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_rigging.py            # full run (a few minutes, 2 cores)
    .venv/bin/python benchmarks/bench_rigging.py --quick    # small arena, for the test

The arena (seeded, no server): ``--models`` models with known strengths
(Elo-scale normal, sd 100) and ``--votes`` honest votes from ``--voters``
voters over ``--days`` days.  Honest voters are noisy in realistic ways: how
many votes each casts is heavy-tailed (lognormal weights), each has an
attention factor (0.6-1: how strongly strength differences show in their
votes) and a tie rate (Beta(3, 17), mean 15 %), each comes in hour-long
sessions on random days (``1 + Poisson(votes / 15)`` of them: many light
voters come once), and 15 % of them share a network address with about ten
others (offices, carrier NAT).  One model is placed 10 Elo below the model at
rank ``--rival-rank`` in truth; the rival and the target are the models at
that rank and the next one on the honest board.

The attacker wants the target above the rival on the board: the product's
live fit (:func:`ratings.compute_leaderboard` with
``arena.services.leaderboard.FIT_OPTIONS``).  Identity classes:

(a) one voter id and one network address, voting as fast as the limits allow;
(b) many voter ids behind one address, one id after another, as fast as the
    limits allow, each id casting 9 votes (one under the audit's per-voter
    minimum: the attacker knows the defaults);
(c) a botnet: every vote from a new id and a new address, the votes spread
    evenly over one day, and again over ``--patient-days`` (30).

Strategies (Min et al. 2025, "Improving Your Model Ranking on Chatbot Arena by
Vote Rigging", ICML): *target-only* starts battles (random pairs, as the arena
draws them) and votes, for the target, only in those the target is in (the
attacker recognises its answers); *omnipresent* votes in every battle for the
side whose win raises ``theta_target - theta_rival`` most to first order: the
sign of ``u_i - u_j`` with ``u = H^+ (e_target - e_rival)``, ``H`` the Fisher
information of the honest fit (what the public board reveals).

Cost = the rigged votes the attacker must cast: the shortest prefix of its
vote stream after which the target is above the rival.  Without defences
every vote counts.  With defences the project's own code decides:

* limits: :class:`arena.services.limits.LimitPolicy` with the default
  :class:`arena.config.LimitSettings` replays every battle and vote of the
  attacker through its windows (per voter and per address, fixed windows);
  a refused action waits for its window to reopen.  Limits remove no votes,
  they stretch the campaign: the "days" column.  The attack starts on day
  ``--days / 2``, while honest traffic goes on.
* audit: :func:`ratings.anomaly.audit` over all votes (honest and rigged)
  with voter ids, network addresses and vote times; the votes it marks
  suspicious are left out of the board, as the product's default board
  leaves out flagged voters.  A flagged identity's votes are all lost, so
  the attacker keeps casting: the cost counts every vote cast.

The with-defence count is found by a geometric scan (x1.5) from the
undefended count up to ``--max-rigged`` and a bisection below the first
success (to 2 %); "> N" means no prefix up to N moved the target (the measurement
stops there).  A row meets its target when the multiplier is reached and the
audit of the honest arena alone flags at most 2 % of honest voters and leaves
out at most 1 % of honest votes; the table also shows the honest voters
flagged and honest votes left out at the attack's end (collateral: a burst
test drops the implicated models' honest votes of the burst's day too).  For
the botnet the script also prints over how many days its undefended-cost
votes must be spread to get through the audit.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena.config import LimitSettings  # noqa: E402
from arena.services.leaderboard import FIT_OPTIONS  # noqa: E402
from arena.services.limits import LimitPolicy  # noqa: E402
from ratings import Battles, aggregate, compute_leaderboard  # noqa: E402
from ratings.anomaly import AuditResult, audit  # noqa: E402
from ratings.bradley_terry import fit_newton, neg_hessian  # noqa: E402

ELO = 400.0 / math.log(10.0)
DAY = 86_400
PER_ID_B = 9
SCAN_STEP = 1.5
TARGETS = {"a": 20.0, "b": 20.0, "c": 3.0}
HONEST_VOTERS_MAX, HONEST_VOTES_MAX = 0.02, 0.01


@dataclass
class Votes:
    a: np.ndarray
    b: np.ndarray
    out: np.ndarray
    voter: np.ndarray
    ip: np.ndarray
    time: np.ndarray

    def __add__(self, other: Votes) -> Votes:
        pairs = zip(self.cols(), other.cols(), strict=True)
        return Votes(*(np.concatenate([x, y]) for x, y in pairs))

    def cols(self) -> tuple[np.ndarray, ...]:
        return self.a, self.b, self.out, self.voter, self.ip, self.time

    def head(self, n: int) -> Votes:
        return Votes(*(x[:n] for x in self.cols()))


def honest_arena(rng: np.random.Generator, m: int, n: int, voters: int, days: int,
                 rival_rank: int, shared_share: float = 0.15) -> tuple[Votes, np.ndarray, int, int]:
    """Honest votes, true strengths (natural-log scale), the placed target and its rival;
    ``shared_share`` of the voters share an address with about ten others."""
    theta = np.sort(rng.normal(0.0, 100.0, m))[::-1] / ELO
    rival, target = rival_rank - 1, rival_rank
    theta[target] = theta[rival] - 10.0 / ELO
    weight = rng.lognormal(0.0, 1.2, voters)
    voter = rng.choice(voters, n, p=weight / weight.sum())
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    attention = rng.uniform(0.6, 1.0, voters)[voter]
    tie = rng.random(n) < rng.beta(3, 17, voters)[voter]
    win_a = rng.random(n) < 1.0 / (1.0 + np.exp(-attention * (theta[a] - theta[b])))
    out = np.where(tie, 2, np.where(win_a, 0, 1))
    ip_of = np.arange(voters)
    shared = rng.random(voters) < shared_share
    ip_of[shared] = voters + rng.integers(0, max(1, shared.sum() // 10), shared.sum())
    _, ip_of = np.unique(ip_of, return_inverse=True)
    t = sessions(rng, voter, voters, days)
    return Votes(a, b, out, voter, ip_of[voter], t), theta, target, rival


def sessions(rng: np.random.Generator, voter: np.ndarray, voters: int, days: int) -> np.ndarray:
    """Vote times: each voter comes in ``1 + Poisson(votes / 15)`` sessions on random days, an
    hour long each, and spreads its votes over them (many light voters come on one day only)."""
    n_votes = np.bincount(voter, minlength=voters)
    n_sessions = 1 + rng.poisson(n_votes / 15.0)
    first = np.concatenate([[0], np.cumsum(n_sessions)[:-1]])
    session = first[voter] + (rng.random(voter.shape[0]) * n_sessions[voter]).astype(np.int64)
    start = rng.uniform(0, days * DAY - 3600.0, int(n_sessions.sum()))
    return start[session] + rng.uniform(0, 3600.0, voter.shape[0])


def board(v: Votes, m: int, keep: np.ndarray | None = None) -> np.ndarray:
    """Ratings of the product's live board (its fit options: ties as half wins, C=1 prior)."""
    s = slice(None) if keep is None else keep
    names = tuple(f"m{k:02d}" for k in range(m))
    battles = Battles(names, v.a[s], v.b[s], v.out[s].astype(np.int8), None)
    lb = compute_leaderboard(battles, **FIT_OPTIONS)
    by_name = {r.model: r.rating for r in lb.rows}
    return np.array([by_name[x] for x in names])


def influence(v: Votes, m: int, target: int, rival: int) -> np.ndarray:
    """``u = H^+ (e_target - e_rival)`` from the honest fit (what a public board reveals)."""
    pc = aggregate(Battles(tuple(map(str, range(m))), v.a, v.b, v.out.astype(np.int8), None))
    s, n = pc.wsum[:, 0] + 0.5 * pc.wsum[:, 2], pc.wsum.sum(axis=1)
    theta = fit_newton(pc.i, pc.j, s, n, m, l2=FIT_OPTIONS["l2"])
    e = np.zeros(m)
    e[target], e[rival] = 1.0, -1.0
    return np.linalg.pinv(neg_hessian(theta, pc.i, pc.j, n)) @ e


def rigged_stream(rng: np.random.Generator, strategy: str, n: int, m: int, target: int,
                  u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs, outcomes and battles started per vote for ``n`` rigged votes."""
    if strategy == "target-only":
        battles = rng.geometric(2.0 / m, n)
        other = (target + rng.integers(1, m, n)) % m
        swap = rng.random(n) < 0.5
        a, b = np.where(swap, other, target), np.where(swap, target, other)
        return a, b, swap.astype(np.int64), battles
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    return a, b, np.where(u[a] >= u[b], 0, 1), np.ones(n, dtype=np.int64)


def identities(cls: str, n: int, voter0: int, ip0: int) -> tuple[np.ndarray, np.ndarray]:
    k = np.arange(n)
    if cls == "a":
        return np.full(n, voter0), np.full(n, ip0)
    if cls == "b":
        return voter0 + k // PER_ID_B, np.full(n, ip0)
    return voter0 + k, ip0 + k


def landing_times(policy: LimitPolicy, voter: np.ndarray, ip: np.ndarray, battles: np.ndarray,
                  start: float, parallel: bool) -> np.ndarray:
    """When each vote lands if every battle and vote must pass ``policy``'s windows.

    One attacker goes as fast as the limits allow: when a window is full it
    waits for the next window of that length (fixed windows, as the product
    counts them).  ``parallel``: every vote starts at ``start`` (a botnet's
    bots do not wait for each other).
    """
    counts: dict[tuple[int, int, int], int] = {}
    windows = list(enumerate(policy.windows))
    out = np.empty(voter.shape[0])
    t = start

    def act(action: str, t: float, subject: dict[str, int]) -> float:
        mine = [(i, w) for i, w in windows if w.action == action]
        while True:
            late = t
            for i, w in mine:
                key = (i, subject[w.scope], int(t // w.seconds))
                if not policy.allows(w, counts.get(key, 0)):
                    late = max(late, (t // w.seconds + 1) * w.seconds)
            if late == t:
                break
            t = late
        for i, w in mine:
            key = (i, subject[w.scope], int(t // w.seconds))
            counts[key] = counts.get(key, 0) + 1
        return t

    for k in range(voter.shape[0]):
        t = start if parallel else t
        who = {"voter": int(voter[k]), "ip": int(ip[k])}
        for _ in range(int(battles[k])):
            t = act("battle", t, who)
        t = act("vote", t, who)
        out[k] = t
    return out


@dataclass
class Case:
    cls: str
    strategy: str
    stream: Votes
    battles: np.ndarray
    spread_days: float | None = None
    start: float = 0.0

    def head(self, r: int) -> Votes:
        """The first ``r`` rigged votes; a botnet spreads them evenly over ``spread_days``."""
        v = self.stream.head(r)
        if self.spread_days is None:
            return v
        offset = self.start + (np.arange(r) + 0.5) * self.spread_days * DAY / max(r, 1)
        return Votes(v.a, v.b, v.out, v.voter, v.ip, v.time - self.start + offset)


def overtakes(honest: Votes, case: Case, r: int, m: int, target: int, rival: int,
              defended: bool) -> tuple[bool, AuditResult | None]:
    """Is the target above the rival after the first ``r`` rigged votes? (and the audit)"""
    v = honest + case.head(r)
    found = None
    if defended:
        found = audit(v.voter, v.a, v.b, v.out, network=v.ip, time=v.time, n_models=m)
    rating = board(v, m, None if found is None else ~found.suspicious)
    return bool(rating[target] > rating[rival]), found


def undefended_cost(honest: Votes, case: Case, m: int, target: int, rival: int) -> int | None:
    """Smallest ``r`` that moves the target (doubling, then bisection: monotone undefended)."""
    n_max = case.stream.a.shape[0]
    lo, hi = 0, 1
    while not overtakes(honest, case, hi, m, target, rival, False)[0]:
        lo, hi = hi, hi * 2
        if hi > n_max:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        ok = overtakes(honest, case, mid, m, target, rival, False)[0]
        lo, hi = (lo, mid) if ok else (mid, hi)
    return hi


def defended_cost(honest: Votes, case: Case, m: int, target: int, rival: int,
                  r0: int) -> tuple[int | None, AuditResult | None]:
    """Geometric scan from ``r0`` up to the stream's length, then bisection below the hit."""
    n_max = case.stream.a.shape[0]
    lo, r = 0, r0
    while True:
        ok, keep = overtakes(honest, case, r, m, target, rival, True)
        if ok:
            break
        if r >= n_max:
            return None, keep
        lo, r = r, min(n_max, math.ceil(r * SCAN_STEP))
    hi, hi_found = r, keep
    while hi - lo > max(1, hi // 50):
        mid = (lo + hi) // 2
        ok, found = overtakes(honest, case, mid, m, target, rival, True)
        if ok:
            hi, hi_found = mid, found
        else:
            lo = mid
    return hi, hi_found


def build_cases(rng: np.random.Generator, honest: Votes, policy: LimitPolicy, m: int, target: int,
                u: np.ndarray, n_max: int, start: float, patient_days: float) -> list[Case]:
    voter0, ip0 = int(honest.voter.max()) + 1, int(honest.ip.max()) + 1
    cases = []
    for strategy in ("target-only", "omnipresent"):
        a, b, out, battles = rigged_stream(rng, strategy, n_max, m, target, u)
        landed = {}
        for cls in ("a", "b", "c"):
            voter, ip = identities(cls, n_max, voter0, ip0)
            t = landing_times(policy, voter, ip, battles, start, parallel=cls == "c")
            landed[cls] = Votes(a, b, out, voter, ip, t)
        for cls, spread in (("a", None), ("b", None), ("c", 1.0), ("c", patient_days)):
            label = cls if spread in (None, 1.0) else f"{cls}, over {spread:g} days"
            cases.append(Case(label, strategy, landed[cls], battles, spread, start))
    return cases


def evading_days(honest: Votes, case: Case, m: int, target: int, rival: int, r0: int,
                 max_days: int) -> int | None:
    """Fewest whole days over which a botnet's ``r0`` votes get through the audit (bisection)."""
    def passes(days: int) -> bool:
        return overtakes(honest, replace(case, spread_days=float(days)), r0, m, target, rival,
                         True)[0]

    if not passes(max_days):
        return None
    lo, hi = 0, max_days
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if passes(mid) else (mid, hi)
    return hi


def honest_shares(honest: Votes, found: AuditResult | None) -> tuple[float, float]:
    """Shares of honest voters flagged (or their address) and of honest votes left out."""
    if found is None:
        return float("nan"), float("nan")
    n = honest.a.shape[0]
    flagged = found.voters.flagged[honest.voter]
    if found.networks is not None:
        flagged = flagged | found.networks.flagged[honest.ip]
    voters = np.unique(honest.voter)
    bad = np.unique(honest.voter[flagged])
    return bad.shape[0] / voters.shape[0], float(found.suspicious[:n].mean())


def setup(args: argparse.Namespace, rng: np.random.Generator) -> tuple[Votes, int, int]:
    """The honest arena, the target and its rival; prints what was built."""
    m = args.models
    honest, _theta, placed, _ = honest_arena(rng, m, args.votes, args.voters, args.days,
                                             args.rival_rank)
    rating = board(honest, m)
    order = np.argsort(-rating)
    rival, target = int(order[args.rival_rank - 1]), int(order[args.rival_rank])
    print(f"honest arena: {m} models, {honest.a.shape[0]:,} votes, {args.voters:,} voters, "
          f"{np.unique(honest.ip).shape[0]:,} addresses, {args.days} days; target m{target:02d} "
          f"(rank {args.rival_rank + 1}) is {rating[rival] - rating[target]:.1f} Elo below "
          f"rival m{rival:02d} (rank {args.rival_rank}) on the honest board (m{placed:02d} was "
          f"placed 10 Elo below m{placed - 1:02d} in truth)")
    return honest, target, rival


def run(args: argparse.Namespace, policy: LimitPolicy) -> list[dict[str, Any]]:
    """Build the arena, measure every class and strategy, print the table; return its rows."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    m = args.models
    honest, target, rival = setup(args, rng)
    alone = honest_shares(honest, audit(honest.voter, honest.a, honest.b, honest.out,
                                        network=honest.ip, time=honest.time, n_models=m))
    print(f"audit of the honest arena alone: {100 * alone[0]:.2f} % of honest voters flagged, "
          f"{100 * alone[1]:.3f} % of honest votes left out")
    print("limit policy (arena defaults): " + ", ".join(
        f"{w.action}s per {w.scope} {w.limit} per {w.seconds} s" for w in policy.windows))
    u = influence(honest, m, target, rival)
    start = args.days / 2 * DAY
    cases = build_cases(rng, honest, policy, m, target, u, args.max_rigged, start,
                        args.patient_days)
    rows: list[dict[str, Any]] = []
    print(HEADER)
    print("|" + " --- |" * (HEADER.count("|") - 1))
    undefended: dict[str, int | None] = {}
    for case in cases:
        if case.strategy not in undefended:  # the same votes count whoever casts them
            undefended[case.strategy] = undefended_cost(honest, case, m, target, rival)
        r0 = undefended[case.strategy]
        if r0 is None:
            print(f"({case.cls}) {case.strategy}: not reached without defences within "
                  f"{args.max_rigged:,} votes")
            continue
        r1, found = defended_cost(honest, case, m, target, rival, r0)
        n_used = args.max_rigged if r1 is None else r1
        rows.append({
            "class": case.cls, "strategy": case.strategy, "r0": r0, "r1": r1,
            "battles": int(case.battles[:n_used].sum()),
            "ids": np.unique(case.stream.voter[:n_used]).shape[0],
            "ips": np.unique(case.stream.ip[:n_used]).shape[0],
            "days": (case.head(n_used).time.max() - start) / DAY,
            "attack": honest_shares(honest, found), "alone": alone,
            "mult": n_used / r0, "max": args.max_rigged, "honest": honest.a.shape[0],
        })
        print(fmt_row(rows[-1]), flush=True)
    explain(rows)
    for case in cases:
        r0 = undefended[case.strategy]
        if case.cls == "c" and r0 is not None:
            d = evading_days(honest, case, m, target, rival, r0, args.days // 2)
            print(f"(c) {case.strategy}: the {r0:,} botnet votes that move the target without "
                  "defences get through the audit when spread over "
                  + (f"{d} days or more ({r0 / d:.0f} a day)" if d else
                     f"no span up to {args.days // 2} days"))
    print(f"run time {time.perf_counter() - t0:.0f} s")
    return rows


HEADER = ("| class | strategy | votes needed, no defence | with defences | multiplier | "
          "battles started | ids | addresses | days (limits) | honest voters flagged / votes "
          "left out, at that attack | target |")


def met(row: dict[str, Any]) -> bool:
    """Multiplier reached, with the audit's false positives on the honest arena within bounds."""
    voters, votes = row["alone"]
    want = TARGETS[row["class"][0]]
    return bool(row["mult"] >= want and voters <= HONEST_VOTERS_MAX
                and votes <= HONEST_VOTES_MAX)


def fmt_row(row: dict[str, Any]) -> str:
    capped = row["r1"] is None
    mult = f"{'> ' if capped else ''}{row['mult']:.{1 if row['mult'] >= 10 else 2}f}x"
    r1 = f"> {row['max']:,}" if capped else f"{row['r1']:,}"
    voters, votes = row["attack"]
    return (f"| ({row['class']}) | {row['strategy']} | {row['r0']:,} | {r1} | {mult} | "
            f"{row['battles']:,} | {row['ids']:,} | {row['ips']:,} | {row['days']:.2f} | "
            f"{100 * voters:.2f} % / {100 * votes:.2f} % | "
            f">= {TARGETS[row['class'][0]]:.0f}x: {'met' if met(row) else 'NOT met'} |")


def explain(rows: list[dict[str, Any]]) -> None:
    """Say why each target that was not met was not."""
    for row in rows:
        if met(row):
            continue
        want = TARGETS[row["class"][0]]
        head = f"({row['class']}) {row['strategy']}: {row['mult']:.2f}x < {want:.0f}x because "
        if row["r1"] is None:
            print(head + f"no prefix up to --max-rigged {row['max']:,} moved the target: the "
                  f"measurement stops there (raise --max-rigged to see more)")
        elif "over" in row["class"]:
            print(head + f"a botnet whose votes are one per id and address and spread over "
                  f"weeks leaves no per-voter, per-address or burst signal to test: each vote is "
                  f"as plausible as an honest one, and its {row['r0']:,} votes are "
                  f"{100 * row['r0'] / row['honest']:.2f} % of the honest traffic; only the cost "
                  f"of identities (accounts, logins) raises it")
        else:
            print(head + "the audit let the attack through at this size")
    if any(r["alone"][0] > HONEST_VOTERS_MAX or r["alone"][1] > HONEST_VOTES_MAX for r in rows):
        print("the audit flagged more honest voters or votes than allowed on the honest arena")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", type=int, default=40)
    p.add_argument("--votes", type=int, default=200_000)
    p.add_argument("--voters", type=int, default=5_000)
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--rival-rank", type=int, default=12)
    p.add_argument("--max-rigged", type=int, default=60_000)
    p.add_argument("--patient-days", type=float, default=30.0,
                   help="an extra botnet row that spreads its votes over this many days")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="12 models, 30,000 votes, 800 voters, at most 4,000 rigged votes")
    args = p.parse_args(argv)
    if args.quick:
        args.models, args.votes, args.voters, args.max_rigged = 12, 30_000, 800, 4_000
        args.rival_rank = min(args.rival_rank, 5)
    return args


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse(argv)
    return run(args, LimitPolicy.from_settings(LimitSettings()))


if __name__ == "__main__":
    main()
