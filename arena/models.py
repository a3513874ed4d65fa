"""Database tables (SQLModel) and the shapes that may leave the server.

Position convention: ``model_a`` is the answer shown on the left as "Model A";
the draw randomises which model gets that position.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    LargeBinary,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

Winner = Literal["model_a", "model_b", "tie", "tie (bothbad)"]
WINNERS: tuple[str, ...] = ("model_a", "model_b", "tie", "tie (bothbad)")


_FLAGGED = "flagged OR identity_leak"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _timestamp(*, index: bool = False) -> Any:
    return Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False, index=index
    )


class AppMeta(SQLModel, table=True):
    """Arena-wide values made once by a migration (e.g. the hashing salt)."""

    __tablename__ = "app_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=256)


class ArenaModel(SQLModel, table=True):
    """A model that can fight: from an answer set now, from a live endpoint later."""

    __tablename__ = "arena_model"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)
    organization: str | None = Field(default=None, max_length=200)
    license: str | None = Field(default=None, max_length=200)
    created_at: datetime = _timestamp()
    # Live endpoints that keep failing are paused from sampling until this time.
    consecutive_failures: int = Field(default=0)
    paused_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ModelFailure(SQLModel, table=True):
    """One failed answer (or endpoint check) of a live model, for the owner."""

    __tablename__ = "model_failure"

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(max_length=200, index=True)
    kind: str = Field(max_length=64)
    # Short and redacted: no credentials, at most a few hundred characters.
    reason: str = Field(max_length=500)
    battle_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = _timestamp(index=True)


class ApiKey(SQLModel, table=True):
    """A script's key (`arena keys create`): only its hash is kept."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # shown in listings to tell keys apart
    created_at: datetime = _timestamp()
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class RateBucket(SQLModel, table=True):
    """One fixed window's count of battles or votes by one voter or IP (arena.services.limits)."""

    __tablename__ = "rate_bucket"

    key: str = Field(primary_key=True, max_length=200)
    window_end: datetime = Field(sa_type=DateTime(timezone=True), nullable=False, index=True)
    count: int = Field(default=0)


class VoterFlag(SQLModel, table=True):
    """A voter the audit or the owner flagged: their votes leave the board by default."""

    __tablename__ = "voter_flag"

    voter_id: str = Field(primary_key=True, max_length=64)
    flagged: bool = Field(default=True)
    source: str = Field(max_length=16)  # "audit" or "owner"
    reason: str = Field(max_length=500)
    score: float | None = None
    # The owner's word on the audit's flag: "confirmed" or "cleared" (the audit keeps it).
    review: str | None = Field(default=None, max_length=16)
    updated_at: datetime = _timestamp()


class AnswerSet(SQLModel, table=True):
    __tablename__ = "answer_set"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)
    source_format: str = Field(max_length=32)
    imported_at: datetime = _timestamp()


class Question(SQLModel, table=True):
    __tablename__ = "question"
    __table_args__ = (UniqueConstraint("answer_set_id", "question_id"),)

    id: int | None = Field(default=None, primary_key=True)
    answer_set_id: int = Field(foreign_key="answer_set.id", index=True)
    question_id: str = Field(max_length=200)
    category: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=16)
    turns: list[str] = Field(sa_column=Column(JSON, nullable=False))


class Answer(SQLModel, table=True):
    """One sample of one model's answer to one question (several samples: several rows)."""

    __tablename__ = "answer"
    __table_args__ = (
        UniqueConstraint("question_pk", "model_id", "sample", name="answer_sample_unique"),
    )

    id: int | None = Field(default=None, primary_key=True)
    question_pk: int = Field(foreign_key="question.id", index=True)
    model_id: int = Field(foreign_key="arena_model.id", index=True)
    sample: int = Field(default=0)
    turns: list[str] = Field(sa_column=Column(JSON, nullable=False))


class AnswerText(SQLModel, table=True):
    """The sha256 of each turn of an answer: named_mode "separate" keeps named battles off
    any text anonymous battles can show, even when two answer sets share answers."""

    __tablename__ = "answer_text"

    answer_id: int = Field(primary_key=True, foreign_key="answer.id")
    turn: int = Field(primary_key=True)
    text_hash: str = Field(max_length=64, index=True)


class NamedExposure(SQLModel, table=True):
    """A voter was shown *model*'s answer to a question under the model's name (a named
    battle, or the reveal after their vote): their later anonymous votes on that question
    and model are stored `seen_named` (arena.services.exposure)."""

    __tablename__ = "named_exposure"

    voter_id: str = Field(primary_key=True, max_length=64)
    question_pk: int = Field(primary_key=True, foreign_key="question.id")
    model: str = Field(primary_key=True, max_length=200)
    created_at: datetime = _timestamp()


class SamplingIntent(SQLModel, table=True):
    """The model shares a pair policy intended when it was built (arena.services.sampling):
    battles drawn under it point here, so the exposure report can set what each model was
    shown against what the policy meant to show."""

    __tablename__ = "sampling_intent"

    # Made by the process that built the policy (random), so a draw needs no write.
    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    policy: str = Field(max_length=16)
    shares: dict[str, float] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _timestamp()


class Battle(SQLModel, table=True):
    """One pair of answers shown to one voter, under a server-made id."""

    __tablename__ = "battle"
    __table_args__ = (
        CheckConstraint(
            "status IN ('generating', 'ready', 'voted', 'failed')", name="battle_status"
        ),
        CheckConstraint("model_a <> model_b", name="battle_distinct_models"),
        UniqueConstraint("source", "source_id", name="battle_source_id"),
        # the few battles out of the board, found without reading every vote
        Index("ix_battle_flagged_partial", "id", postgresql_where=text(_FLAGGED),
              sqlite_where=text(_FLAGGED)),
    )

    id: str = Field(primary_key=True, max_length=32)
    anony: bool
    # "answers" (pre-generated answer set), "live" (model endpoints), "import" (vote
    # dataset), "trial" (the owner trying endpoints: never voted, never rated)
    mode: str = Field(default="answers", max_length=16)
    model_a: str = Field(max_length=200, index=True)
    model_b: str = Field(max_length=200, index=True)
    answer_set: str | None = Field(default=None, max_length=200)
    question_id: str | None = Field(default=None, max_length=200)
    question_pk: int | None = Field(default=None, foreign_key="question.id")
    # Answer-set battles: which sample of each model's answer was drawn (answer.sample).
    sample_a: int | None = None
    sample_b: int | None = None
    category: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=16)
    conversation_a: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))
    conversation_b: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="ready", max_length=16)
    voter_id: str = Field(max_length=64, index=True)
    ip_hash: str | None = Field(default=None, max_length=64)
    ui_language: str | None = Field(default=None, max_length=16)
    created_at: datetime = _timestamp()
    # When both answers were last shown complete (for the too-fast rule).
    ready_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    failure_reason: str | None = Field(default=None, max_length=500)
    # An answer named a model or its maker: kept, but left out of ratings by default.
    identity_leak: bool = Field(default=False)
    # Set by the owner (or a moderation rule) to leave a battle out of ratings.
    flagged: bool = Field(default=False)
    # Live battles: per side, per turn latency / time to first token / token counts.
    stats: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Imported votes: the dataset they came from and their id there (duplicates skipped).
    source: str | None = Field(default=None, max_length=200)
    source_id: str | None = Field(default=None, max_length=200)
    # Leaderboard style features, set when the answers are final:
    # {"a": [length, headers, lists, bold], "b": [...], "turns": n}; NULL = compute from text.
    style: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The pair policy's intent this battle was drawn under (anonymous battles).
    intent_id: int | None = Field(default=None, sa_type=BigInteger)
    # Live battles: sha256 of the first prompt, normalised (arena.text.prompt_key), to
    # down-weight prompts repeated far more than usual.
    prompt_hash: str | None = Field(default=None, max_length=64, index=True)
    # The voter opened the Judge Copilot's comparison before voting (battle.copilot_before_vote).
    copilot_before_vote: bool = Field(default=False)


class Vote(SQLModel, table=True):
    """At most one per battle: the unique battle_id is the rule, not the button."""

    __tablename__ = "vote"
    __table_args__ = (
        CheckConstraint(
            "winner IN ('model_a', 'model_b', 'tie', 'tie (bothbad)')", name="vote_winner"
        ),
        Index("ix_vote_suspicious_partial", "id", postgresql_where=text("suspicious"),
              sqlite_where=text("suspicious")),
    )

    id: int | None = Field(default=None, primary_key=True)
    battle_id: str = Field(foreign_key="battle.id", unique=True, max_length=32)
    winner: str = Field(max_length=16)
    ip_hash: str | None = Field(default=None, max_length=64)
    ui_language: str | None = Field(default=None, max_length=16)
    created_at: datetime = _timestamp(index=True)
    # Cast sooner than the answers could be read (arena.services.limits.too_fast).
    too_fast: bool = Field(default=False)
    # Left out by the anomaly audit's vote-plausibility filter.
    suspicious: bool = Field(default=False)
    # An anonymous vote on a question and model the voter had seen named before.
    seen_named: bool = Field(default=False)


class BoardSegment(SQLModel, table=True):
    """The leaderboard's vote columns for the votes with ids in (low_id, high_id], as one
    blob (arena.services.board_segments): a starting process reads these, not every vote."""

    __tablename__ = "board_segment"

    id: int | None = Field(default=None, primary_key=True)
    low_id: int = Field(sa_type=BigInteger, unique=True)  # a second writer's insert fails
    high_id: int = Field(sa_type=BigInteger)
    votes: int
    created_at: datetime = _timestamp()
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class FlagChange(SQLModel, table=True):
    """A flag that changed after votes were cast, for every process's board to re-read:
    a battle's, a voter's, or (both empty) any (arena.services.counting)."""

    __tablename__ = "flag_change"

    id: int | None = Field(default=None, primary_key=True)
    battle_id: str | None = Field(default=None, max_length=32)
    voter_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _timestamp()


# Shapes that leave the server -------------------------------------------------


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class BattlePublic(BaseModel):
    """What a voter may see of a battle before voting: no model names."""

    model_config = ConfigDict(extra="forbid")

    battle_id: str
    anony: bool
    mode: str = "answers"
    status: str = "ready"
    question_id: str | None = None
    language: str | None = None
    conversation_a: list[Message]
    conversation_b: list[Message]


class NamedBattlePublic(BattlePublic):
    """Side-by-side battles are named from the start."""

    model_a: str
    model_b: str


class VoteResult(BaseModel):
    battle_id: str
    winner: Winner
    model_a: str
    model_b: str
