"""Judge battles: an LLM judge compares answer-set answers, in both orders.

A judge battle is one (question, model pair, order): the pair's answers are shown to the
judge as Assistant A and Assistant B (arena.judge.templates), and again swapped. Each is
stored as a battle of mode ``judge`` with source ``judge:NAME`` and source id
``question_pk|A|B``, so a second run skips what is stored. A readable verdict
(arena.judge.verdict) is stored as its vote; an unreadable one as a ``failed`` battle
(a judge failure, counted, never a guessed vote); an endpoint failure (after the one
429 retry the provider makes) is not stored, so the next run tries it again. Judge
votes stay out of the human board and exports (arena.services.counting: ``judge``).
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from anyio import to_thread
from sqlmodel import Session, select

from arena.config_judges import JudgeSettings
from arena.context import Arena
from arena.judge.templates import judge_messages, shown_turns
from arena.judge.verdict import UnreadableVerdict, parse_verdict
from arena.models import Answer, AnswerSet, ArenaModel, Battle, Question, Vote, utcnow
from arena.providers import PROVIDERS, TextDelta, Usage
from arena.providers.errors import ProviderError
from arena.services.answer_pool import answer_condition
from arena.services.battles import conversation
from arena.services.errors import NotFound
from arena.services.live_turn import api_key
from ratings.agreement import position_bias_rate

JUDGE_MODE = "judge"
WINNER_CODES = {"model_a": 0, "model_b": 1, "tie": 2}


def judge_source(name: str) -> str:
    return f"judge:{name}"


@dataclass(frozen=True)
class JudgeItem:
    question_pk: int
    question_id: str
    answer_set: str
    category: str | None
    language: str | None
    turns: list[str]
    model_a: str
    model_b: str
    answer_a: list[str]
    answer_b: list[str]

    @property
    def source_id(self) -> str:
        return f"{self.question_pk}|{self.model_a}|{self.model_b}"


@dataclass
class JudgeRunSummary:
    planned: int = 0
    skipped: int = 0  # stored by an earlier run
    verdicts: int = 0
    unreadable: int = 0
    errors: int = 0  # endpoint failures, not stored: the next run tries them again
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    error_kinds: dict[str, int] = field(default_factory=dict)


def plan(session: Session, judge: str, *, answer_sets: Sequence[str] = (),
         pairs: int | None = None, seed: int = 0) -> tuple[list[JudgeItem], int]:
    """The (question, pair) items to judge, each in both orders, minus those stored.

    *pairs*: that many (question, pair) combinations drawn with *seed* (``None``: all).
    Each model's first sample is judged. Returns the items and how many were skipped.
    """
    rows = session.execute(
        select(Question.id, Question.question_id, AnswerSet.name, Question.category,
               Question.language, Question.turns, ArenaModel.name, Answer.turns)
        .join(AnswerSet, AnswerSet.id == Question.answer_set_id)
        .join(Answer, Answer.question_pk == Question.id)
        .join(ArenaModel, ArenaModel.id == Answer.model_id)
        .where(answer_condition(answer_sets), Answer.sample == 0)
        .order_by(Question.id, ArenaModel.name)).all()
    if not rows:
        raise NotFound("no answers to judge: import an answer set first"
                       + (f" (or check --answer-set {', '.join(answer_sets)})"
                          if answer_sets else ""))
    questions: dict[int, tuple[Any, ...]] = {}
    answers: dict[int, dict[str, list[str]]] = {}
    for pk, qid, set_name, category, language, turns, model, answer in rows:
        questions[pk] = (qid, set_name, category, language, turns)
        answers.setdefault(pk, {})[model] = answer
    combos = [(pk, a, b) for pk in sorted(answers) for a, b in combinations(sorted(answers[pk]), 2)]
    if pairs is not None and pairs < len(combos):
        combos = sorted(random.Random(seed).sample(combos, pairs))
    done = set(session.exec(select(Battle.source_id).where(
        Battle.source == judge_source(judge))))
    items, skipped = [], 0
    for pk, first, second in combos:
        qid, set_name, category, language, turns = questions[pk]
        for a, b in ((first, second), (second, first)):
            item = JudgeItem(pk, qid, set_name, category, language, turns, a, b,
                             answers[pk][a], answers[pk][b])
            if item.source_id in done:
                skipped += 1
            else:
                items.append(item)
    return items, skipped


async def _ask(arena: Arena, judge: JudgeSettings, item: JudgeItem
               ) -> tuple[str, Usage | None, float]:
    question = shown_turns(item.turns)
    answer_a, answer_b = shown_turns(item.answer_a), shown_turns(item.answer_b)
    provider = PROVIDERS[judge.provider](judge, api_key=api_key(judge))  # type: ignore[arg-type]
    messages = judge_messages(judge, language=item.language, question=question,
                              answer_a=answer_a, answer_b=answer_b)
    started = time.monotonic()
    pieces: list[str] = []
    usage = None
    try:
        async for event in provider.stream(messages, client=arena.http_client()):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
            elif isinstance(event, Usage):
                usage = event
    except ProviderError as exc:
        exc.redact(provider.secrets())
        raise
    return "".join(pieces), usage, time.monotonic() - started


def _store(arena: Arena, judge: JudgeSettings, item: JudgeItem, text: str,
           usage: Usage | None, seconds: float) -> str | None:
    """Store one judge battle; its winner, or None when the verdict was unreadable."""
    try:
        winner: str | None = parse_verdict(text)
        reason = None
    except UnreadableVerdict as exc:
        winner, reason = None, f"unreadable verdict: {exc}"[:500]
    battle = Battle(
        id=secrets.token_hex(16), anony=False, mode=JUDGE_MODE,
        model_a=item.model_a, model_b=item.model_b, answer_set=item.answer_set,
        question_id=item.question_id, question_pk=item.question_pk, sample_a=0, sample_b=0,
        category=item.category, language=item.language,
        conversation_a=conversation(item.turns, item.answer_a),
        conversation_b=conversation(item.turns, item.answer_b),
        status="voted" if winner else "failed", voter_id=judge_source(judge.name)[:64],
        source=judge_source(judge.name), source_id=item.source_id[:200],
        failure_reason=reason, ready_at=utcnow(),
        stats={"judge": {"seconds": round(seconds, 3),
                         "prompt_tokens": usage.prompt_tokens if usage else None,
                         "completion_tokens": usage.completion_tokens if usage else None,
                         "answer": text[-2000:]}},
    )
    with arena.session() as session:
        session.add(battle)
        if winner:
            session.flush()
            session.add(Vote(battle_id=battle.id, winner=winner))
        session.commit()
    return winner


async def run_judge(arena: Arena, judge: JudgeSettings, *, answer_sets: Sequence[str] = (),
                    pairs: int | None = None, concurrency: int = 4, seed: int = 0,
                    progress: Callable[[int, int], None] | None = None) -> JudgeRunSummary:
    """Judge the planned items with at most *concurrency* requests at once."""
    started = time.monotonic()
    with arena.session() as session:
        items, skipped = plan(session, judge.name, answer_sets=answer_sets, pairs=pairs,
                              seed=seed)
    summary = JudgeRunSummary(planned=len(items), skipped=skipped)
    gate = asyncio.Semaphore(max(1, concurrency))
    finished = 0

    async def one(item: JudgeItem) -> None:
        nonlocal finished
        async with gate:
            try:
                text, usage, seconds = await _ask(arena, judge, item)
            except ProviderError as exc:
                summary.errors += 1
                summary.error_kinds[exc.kind] = summary.error_kinds.get(exc.kind, 0) + 1
            else:
                winner = await to_thread.run_sync(_store, arena, judge, item, text, usage,
                                                  seconds)
                summary.verdicts += winner is not None
                summary.unreadable += winner is None
                if usage is not None:
                    summary.prompt_tokens += usage.prompt_tokens or 0
                    summary.completion_tokens += usage.completion_tokens or 0
        finished += 1
        if progress is not None:
            progress(finished, len(items))

    await asyncio.gather(*(one(item) for item in items))
    summary.seconds = time.monotonic() - started
    return summary


def run_judge_sync(arena: Arena, judge: JudgeSettings, **options: Any) -> JudgeRunSummary:
    """:func:`run_judge` in an event loop of its own, closing its endpoint client after
    (the command and the benchmark)."""
    async def main() -> JudgeRunSummary:
        try:
            return await run_judge(arena, judge, **options)
        finally:
            await arena.aclose_http_client()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(max_workers=1) as pool:  # called from a running loop's thread
        return pool.submit(asyncio.run, main()).result()


@dataclass(frozen=True)
class JudgeStats:
    battles: int  # stored judge battles
    verdicts: int
    unreadable: int
    both_orders: int  # (question, pair) judged readably in both orders
    position_bias: float | None  # share of those whose two verdicts disagree


def judge_stats(session: Session, judge: str) -> JudgeStats:
    """What a judge's stored battles say: failures and position bias."""
    rows = session.execute(
        select(Battle.question_pk, Battle.model_a, Battle.model_b, Battle.status, Vote.winner)
        .outerjoin(Vote, Vote.battle_id == Battle.id)
        .where(Battle.source == judge_source(judge), Battle.mode == JUDGE_MODE)).all()
    verdict = {(pk, a, b): winner for pk, a, b, _, winner in rows if winner}
    first, second = [], []
    for (pk, a, b), winner in verdict.items():
        if a < b and (pk, b, a) in verdict:
            first.append(WINNER_CODES[winner])
            second.append(WINNER_CODES[verdict[(pk, b, a)]])
    return JudgeStats(
        battles=len(rows), verdicts=len(verdict),
        unreadable=sum(1 for *_, status, _ in rows if status == "failed"),
        both_orders=len(first),
        position_bias=position_bias_rate(first, second) if first else None,
    )


__all__ = ["JUDGE_MODE", "JudgeItem", "JudgeRunSummary", "JudgeStats", "judge_source",
           "judge_stats", "plan", "run_judge", "run_judge_sync"]
