"""Which votes count: one definition for the live board, `arena ratings` and exports.

A stored vote is left out of ratings for a reason; each reason is one SQL
expression here, selected as a column by the leaderboard's vote store (and
masked in numpy) and used as a WHERE condition by exports. `CountRules` says
which reasons a board or an export lets back in; its defaults are the public
board's.

    reason      expression                                   default
    flagged     the owner flagged the battle, or an answer   left out
                named a model (identity leak)
    too_fast    voted sooner than the answers could be read  left out
    suspicious  the audit's plausibility filter, or a        left out
                voter the audit or the owner flagged
    seen_named  an anonymous vote on a question and model     left out
                the voter had seen named (arena.services.exposure)
    imported    a vote imported from a dataset               counted
    judge       an LLM judge's verdict (arena.services.      left out
                judging), never a person's
    copilot     voted after reading the Judge Copilot's      counted
                comparison (battle.copilot_before_vote)
    named       not anonymous (side-by-side)                 left out (anony_only)

The owner's trial battles are never votable, so they never reach this point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, false, not_, or_, select
from sqlmodel import Session

from arena.models import Battle, FlagChange, Vote, VoterFlag

if TYPE_CHECKING:
    import numpy as np

REASONS: tuple[str, ...] = ("flagged", "too_fast", "suspicious", "seen_named", "imported",
                            "judge", "copilot")


def reason_expressions() -> dict[str, Any]:
    """Each reason as a boolean SQL expression over ``vote JOIN battle``."""
    voter_flagged = exists(select(VoterFlag.voter_id).where(
        VoterFlag.voter_id == Battle.voter_id, VoterFlag.flagged))
    return {
        "flagged": or_(Battle.flagged, Battle.identity_leak),
        "too_fast": Vote.too_fast,
        "suspicious": or_(Vote.suspicious, voter_flagged),
        "seen_named": Vote.seen_named,
        "imported": Battle.mode == "import",
        "judge": Battle.mode == "judge",
        "copilot": Battle.copilot_before_vote,
    }


@dataclass(frozen=True)
class CountRules:
    """Which votes a board or an export counts; the defaults are the public board's."""

    anony_only: bool = True
    include_flagged: bool = False
    include_too_fast: bool = False
    include_suspicious: bool = False
    include_imported: bool = True
    include_seen_named: bool = False
    include_judge: bool = False
    include_copilot: bool = True

    @classmethod
    def of(cls, view: Any) -> CountRules:
        """The rules of a board view or an export filter (objects with these fields; one
        it lacks keeps the public board's default)."""
        defaults = cls()
        return cls(**{name: getattr(view, name, getattr(defaults, name))
                      for name in cls.__dataclass_fields__})

    def excluded_reasons(self) -> tuple[str, ...]:
        included = {"flagged": self.include_flagged, "too_fast": self.include_too_fast,
                    "suspicious": self.include_suspicious, "imported": self.include_imported,
                    "seen_named": self.include_seen_named, "judge": self.include_judge,
                    "copilot": self.include_copilot}
        return tuple(reason for reason in REASONS if not included[reason])

    def sql_condition(self) -> Any:
        """A WHERE condition over ``vote JOIN battle``."""
        expressions = reason_expressions()
        parts = [not_(expressions[reason]) for reason in self.excluded_reasons()]
        if self.anony_only:
            parts.append(Battle.anony)
        return and_(*parts) if parts else not_(false())

    def mask(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """The same rule over the vote store's boolean columns (one per reason, and anony)."""
        import numpy as np  # here: an export imports this module and needs no numpy

        n = columns["anony"].shape[0]
        mask = columns["anony"].copy() if self.anony_only else np.ones(n, dtype=bool)
        for reason in self.excluded_reasons():
            mask &= ~columns[reason]
        return mask


def note_flags_changed(session: Session, *, battle_id: str | None = None,
                       voter_id: str | None = None) -> None:
    """Log (in the caller's transaction) that a battle's or a voter's flags changed after
    votes were cast, or with neither that any may have, so every process's leaderboard
    re-reads those votes' flags within a poll (arena.services.leaderboard_store)."""
    session.add(FlagChange(battle_id=battle_id, voter_id=voter_id))
