"""How far to trust a judge: its board beside the people's, and their agreement.

Board level: the rank correlations (Spearman, Kendall tau-b) of the two boards' ratings
over the models both rate, and each board's separability (the share of model pairs whose
intervals do not overlap). Battle level: on the answer-set battles people voted (the
votes the public board counts) and the judge judged with the same question, models and
sides, the share of equal verdicts with and without ties; the judge's position bias
(arena.services.judging.judge_stats). The formulas are ratings.agreement's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session, select

from arena.models import Battle, Vote
from arena.services.counting import CountRules
from arena.services.judging import JUDGE_MODE, WINNER_CODES, judge_source, judge_stats
from arena.services.leaderboard import Board, LeaderboardCache, View
from ratings.agreement import kendall_tau_b, separability, spearman, verdict_agreement


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


@dataclass(frozen=True)
class JudgeAgreement:
    judge: str
    models: int  # rated on both boards
    spearman: float | None
    kendall: float | None
    human_separability: float | None
    judge_separability: float | None
    battles: int  # judged by both, same question, models and sides
    agreement: float | None  # with ties as a third verdict
    decided: int  # of those, both called for a side
    agreement_without_ties: float | None
    judge_verdicts: int
    judge_unreadable: int
    both_orders: int
    position_bias: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _separability(board: Board) -> float | None:
    if len(board.rows) < 2:
        return None
    return _finite(separability([r.lower for r in board.rows], [r.upper for r in board.rows]))


def judge_agreement(session: Session, cache: LeaderboardCache, judge: str) -> JudgeAgreement:
    human, machine = cache.board(View()), cache.board(View(judge=judge))
    ratings_h = {r.model: r.rating for r in human.rows}
    ratings_j = {r.model: r.rating for r in machine.rows}
    common = sorted(set(ratings_h) & set(ratings_j))
    rho = tau = None
    if len(common) >= 2:
        rho = _finite(spearman([ratings_h[m] for m in common], [ratings_j[m] for m in common]))
        tau = _finite(kendall_tau_b([ratings_h[m] for m in common],
                                    [ratings_j[m] for m in common]))
    key = (Battle.question_pk, Battle.model_a, Battle.model_b)
    people = session.execute(
        select(*key, Vote.winner).join(Vote, Vote.battle_id == Battle.id)
        .where(CountRules().sql_condition(), Battle.mode == "answers")).all()
    verdicts = {(q, a, b): w for q, a, b, w in session.execute(
        select(*key, Vote.winner).join(Vote, Vote.battle_id == Battle.id)
        .where(Battle.source == judge_source(judge), Battle.mode == JUDGE_MODE))}
    pairs = [(WINNER_CODES.get(w, 2), WINNER_CODES[verdicts[(q, a, b)]])
             for q, a, b, w in people if (q, a, b) in verdicts]
    both = verdict_agreement([p for p, _ in pairs], [j for _, j in pairs]) if pairs else None
    stats = judge_stats(session, judge)
    return JudgeAgreement(
        judge=judge, models=len(common), spearman=rho, kendall=tau,
        human_separability=_separability(human), judge_separability=_separability(machine),
        battles=len(pairs), agreement=_finite(both.with_ties) if both else None,
        decided=both.decided if both else 0,
        agreement_without_ties=_finite(both.without_ties) if both else None,
        judge_verdicts=stats.verdicts, judge_unreadable=stats.unreadable,
        both_orders=stats.both_orders, position_bias=stats.position_bias,
    )


__all__ = ["JudgeAgreement", "judge_agreement"]
