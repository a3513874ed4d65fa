"""Judge Copilot: the configured judge's comparison of a battle's two answers, streamed to
the voter who owns the battle, in the voter's language.

Answer-set battles and live battles alike: the judge gets the question and the two
answers as Assistant A and B (a multi-turn live battle: every question and every answer,
as "[Turn k]" paragraphs, arena.judge.templates.shown_turns), never the models' names.
Other battles (imported votes, the owner's trials, judge battles) have no Copilot. By
default the comparison opens only after the vote; with
``battle.copilot_before_vote`` it opens at once and the battle is marked
``copilot_before_vote`` first, so its vote can be left out of the board
(arena.services.counting: ``copilot``). Each comparison counts against the voter's and
the IP's battle limits, since each costs a call to the judge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from anyio import to_thread

from arena.context import Arena
from arena.judge.templates import judge_messages, shown_turns
from arena.models import Battle
from arena.providers import PROVIDERS, TextDelta
from arena.providers.errors import ProviderError
from arena.services.errors import Conflict, Forbidden, NotFound
from arena.services.limits import LimitPolicy, enforce
from arena.services.live_turn import api_key
from arena.services.voters import Voter

COPILOT_MODES = ("answers", "live")
"""The battles a voter is shown and may ask the judge about."""


class CopilotClosed(Conflict):
    """The comparison opens after the vote (battle.copilot_before_vote is false)."""


def _texts(conversation: list[dict[str, str]], role: str) -> str:
    return shown_turns([m["content"] for m in conversation if m["role"] == role])


def _open(arena: Arena, battle_id: str, voter: Voter) -> Battle:
    """The battle, checked and (before a vote, when allowed) marked.

    Refusals: NotFound (no such battle, or not one a voter is shown), Forbidden (another
    voter's), Conflict (an answer is still being written or failed), CopilotClosed (not
    voted yet and battle.copilot_before_vote is false), TooManyRequests (limits).
    """
    before_vote = arena.settings.battle.copilot_before_vote
    with arena.session() as session:
        battle = session.get(Battle, battle_id)
        if battle is None or battle.mode not in COPILOT_MODES:
            raise NotFound(f"no battle with id {battle_id!r}")
        if battle.voter_id != voter.id:
            raise Forbidden("this battle belongs to another voter session")
        if battle.status in ("generating", "failed"):
            raise Conflict("the judge can compare only two finished answers")
        if battle.status != "voted":
            if not before_vote:
                raise CopilotClosed("the judge's comparison opens after your vote")
            battle.copilot_before_vote = True
            session.add(battle)
        # Every comparison costs a judge call: it counts like a new battle against the
        # voter's and the IP's limits (TooManyRequests, nothing sent to the judge).
        enforce(session, LimitPolicy.from_settings(arena.settings.limits), "battle",
                voter_id=voter.id, ip_hash=voter.ip_hash)
        session.commit()
        session.expunge(battle)
        return battle


async def copilot_comparison(arena: Arena, *, battle_id: str, voter: Voter
                             ) -> AsyncIterator[str]:
    """The judge's text as it streams (raises ServiceError subclasses, ProviderError)."""
    name = arena.settings.battle.copilot
    judge = next((j for j in arena.settings.judges if j.name == name), None)
    if judge is None:
        raise Forbidden("the Judge Copilot is off in this arena (battle.copilot)")
    battle = await to_thread.run_sync(_open, arena, battle_id, voter)
    question = _texts(battle.conversation_a, "user")
    answer_a = _texts(battle.conversation_a, "assistant")
    answer_b = _texts(battle.conversation_b, "assistant")
    provider = PROVIDERS[judge.provider](judge, api_key=api_key(judge))  # type: ignore[arg-type]
    messages = judge_messages(judge, language=voter.ui_language, question=question,
                              answer_a=answer_a, answer_b=answer_b)
    try:
        async for event in provider.stream(messages, client=arena.http_client()):
            if isinstance(event, TextDelta):
                yield event.text
    except ProviderError as exc:
        exc.redact(provider.secrets())
        raise


__all__ = ["COPILOT_MODES", "CopilotClosed", "copilot_comparison"]
