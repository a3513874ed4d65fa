"""Vote counts and win rates per model (the minimal leaderboard)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session, func, select

from arena.models import Answer, ArenaModel, Battle, Vote


@dataclass(frozen=True)
class ModelStats:
    model: str
    votes: int
    wins: int
    losses: int
    ties: int
    answers: int

    @property
    def win_rate(self) -> float | None:
        """Share of votes won, a tie counting half."""
        return (self.wins + 0.5 * self.ties) / self.votes if self.votes else None


def model_stats(session: Session, *, anony_only: bool = False) -> list[ModelStats]:
    """Every known model with its votes, best win rate first."""
    statement = (
        select(Battle.model_a, Battle.model_b, Vote.winner, func.count())
        .join(Vote, Vote.battle_id == Battle.id)
        .group_by(Battle.model_a, Battle.model_b, Vote.winner)
    )
    if anony_only:
        statement = statement.where(Battle.anony)
    wins: Counter[str] = Counter()
    losses: Counter[str] = Counter()
    ties: Counter[str] = Counter()
    for model_a, model_b, winner, count in session.exec(statement):
        if winner == "model_a":
            wins[model_a] += count
            losses[model_b] += count
        elif winner == "model_b":
            wins[model_b] += count
            losses[model_a] += count
        else:
            ties[model_a] += count
            ties[model_b] += count
    answers = dict(
        session.exec(
            # questions answered (several samples of one answer count once)
            select(ArenaModel.name, func.count(Answer.question_pk.distinct()))
            .join(Answer, Answer.model_id == ArenaModel.id, isouter=True)
            .group_by(ArenaModel.name)
        ).all()
    )
    names = set(answers) | set(wins) | set(losses) | set(ties)
    rows = [
        ModelStats(
            model=name,
            votes=wins[name] + losses[name] + ties[name],
            wins=wins[name],
            losses=losses[name],
            ties=ties[name],
            answers=answers.get(name, 0),
        )
        for name in names
    ]
    rows.sort(key=lambda r: (-(r.win_rate if r.win_rate is not None else -1), -r.votes, r.model))
    return rows
