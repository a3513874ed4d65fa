"""Live battles: two anonymous endpoints answer the voter's own prompt, streamed.

A turn is `new_battle` or `submit_prompt` (or `prepare_regenerate`) followed by
`start_turn` / `run_turn` (arena/services/live_turn.py), which streams both
sides at once and stores the turn when both ended.

A new battle is drawn in memory and stored, with its first answers, when its
first turn ends: the voter's first token never waits for the database, and a
turn costs one write. It can be voted only once stored and `ready`.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Collection, Sequence

from anyio import to_thread
from sqlmodel import Session

from arena.config import Settings
from arena.context import Arena
from arena.models import ArenaModel, Battle
from arena.services.answer_sets import get_or_create_models
from arena.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from arena.services.limits import LimitPolicy, enforce
from arena.services.live_health import available_models, drawable, live_model_status, paused_now
from arena.services.live_turn import SIDES, LiveTurn, LiveUpdate, run_turn, start_turn
from arena.services.sampling import BoardState, NoPair, Sampler
from arena.services.voters import Voter
from arena.text import detect_language, prompt_key

_rng = random.SystemRandom()


class ModelsUnavailable(NotFound):
    pass


def sync_models(session: Session, settings: Settings) -> None:
    """Create rows for configured models and copy their organization and license."""
    ids = get_or_create_models(session, [m.name for m in settings.models])
    for config in settings.models:
        row = session.get(ArenaModel, ids[config.name])
        if row and (row.organization, row.license) != (config.organization, config.license):
            row.organization, row.license = config.organization, config.license
            session.add(row)
    session.commit()


def _check_prompt(prompt: str, settings: Settings) -> str:
    prompt = prompt.strip()
    if not prompt:
        raise InvalidInput("type a prompt first")
    limit = settings.live.max_input_chars
    if len(prompt) > limit:
        raise InvalidInput(f"the prompt has {len(prompt)} characters; the limit is {limit}")
    return prompt


def _own_live_battle(session: Session, battle_id: str, voter: Voter) -> Battle:
    battle = session.get(Battle, battle_id)
    if battle is None or battle.mode != "live":
        raise NotFound(f"no live battle with id {battle_id!r}")
    if battle.voter_id != voter.id:
        raise Forbidden("this battle belongs to another voter session")
    return battle


def submit_prompt(session: Session, *, voter: Voter, prompt: str, settings: Settings,
                  battle_id: str | None = None, paused: Collection[str] | None = None,
                  sampler: Sampler | None = None, rng: random.Random = _rng) -> Battle:
    """Continue the voter's battle with a new turn, or draw a new live battle.

    A battle continues while it is ready (not voted, not failed) and below
    live.max_turns; otherwise the prompt opens a new battle with a new pair,
    returned unsaved (see the module's docstring). *paused*: the models not to
    draw; read from the database when not given.
    """
    prompt = _check_prompt(prompt, settings)
    sampler = sampler or Sampler(settings.battle.sampling)
    state = sampler.state()  # before the session takes a connection (Sampler.policy)
    if battle_id:
        battle = _own_live_battle(session, battle_id, voter)
        if battle.status == "generating":
            raise Conflict("both answers are still being written")
        if battle.status == "ready":
            turns = sum(1 for m in battle.conversation_a if m["role"] == "user")
            if turns >= settings.live.max_turns:
                raise InvalidInput(
                    f"this battle reached {settings.live.max_turns} turns: vote, then start "
                    "a new battle")
            message = {"role": "user", "content": prompt}
            battle.conversation_a = [*battle.conversation_a, message]
            battle.conversation_b = [*battle.conversation_b, message]
            battle.status = "generating"
            session.add(battle)
            session.commit()
            return battle
    count_battle(session, settings, voter)
    return draw_battle(settings, paused_now(session) if paused is None else paused,
                       voter=voter, prompt=prompt, sampler=sampler, state=state, rng=rng)


def count_battle(session: Session, settings: Settings, voter: Voter) -> None:
    """Count a new live battle against the voter's and the IP's limits, before any
    request leaves for an endpoint (TooManyRequests: nothing sent, nothing stored)."""
    policy = LimitPolicy.from_settings(settings.limits)
    if not policy.for_action("battle"):
        return
    enforce(session, policy, "battle", voter_id=voter.id, ip_hash=voter.ip_hash)
    session.commit()


async def new_battle(arena: Arena, *, voter: Voter, prompt: str,
                     rng: random.Random = _rng) -> Battle:
    """A new live battle for *prompt*: counted against the limits (one small write when
    they are on), then drawn without waiting on the database."""
    prompt = _check_prompt(prompt, arena.settings)
    if LimitPolicy.from_settings(arena.settings.limits).for_action("battle"):
        await to_thread.run_sync(_count_in_session, arena, voter)
    paused = await arena.paused_models.current_async()
    sampler = arena.sampler
    # The board may load or refit: not on the event loop.
    state = await to_thread.run_sync(sampler.state) if sampler.reads_board else None
    return draw_battle(arena.settings, paused, voter=voter, prompt=prompt, sampler=sampler,
                       state=state, rng=rng)


def _count_in_session(arena: Arena, voter: Voter) -> None:
    with arena.session() as session:
        count_battle(session, arena.settings, voter)


def draw_battle(settings: Settings, paused: Collection[str], *, voter: Voter, prompt: str,
                sampler: Sampler | None = None, state: BoardState | None = None,
                rng: random.Random = _rng) -> Battle:
    """Two different available models drawn by *sampler* (arena.services.sampling; a
    model's own ``weight`` counts under "weighted", 0 never draws it), in random order;
    the battle is not stored."""
    models = drawable(settings, paused)
    if len(models) < 2:
        raise ModelsUnavailable("fewer than two live models are available right now")
    sampler = sampler or Sampler(settings.battle.sampling)
    try:
        policy = sampler.policy([m.name for m in models],
                                model_weights={m.name: m.weight for m in models}, state=state)
    except NoPair as exc:
        raise ModelsUnavailable(str(exc)) from exc
    pair = policy.draw(rng)
    message = [{"role": "user", "content": prompt}]
    return Battle(
        id=secrets.token_hex(16), anony=True, mode="live",
        model_a=pair[0], model_b=pair[1],
        conversation_a=message, conversation_b=list(message), status="generating",
        language=detect_language(prompt), category=None,
        voter_id=voter.id, ip_hash=voter.ip_hash, ui_language=voter.ui_language,
        stats={"a": [], "b": []}, intent_id=policy.intent_id, prompt_hash=prompt_key(prompt),
    )


OWNER_VOTER_ID = "owner"


def trial_battle(settings: Settings, models: Sequence[str], *, prompt: str) -> Battle:
    """The owner's named battle between two chosen configured models (paused, weight 0
    or not: this is how a new endpoint is tried before voters meet it). Stored as
    mode "trial" when its turn ends: never voted, never in ratings or exports."""
    prompt = _check_prompt(prompt, settings)
    configured = {m.name for m in settings.models}
    if len(models) != 2 or models[0] == models[1]:
        raise InvalidInput("name two different live models")
    unknown = [name for name in models if name not in configured]
    if unknown:
        raise NotFound(f"not a configured live model: {', '.join(unknown)}")
    message = [{"role": "user", "content": prompt}]
    return Battle(
        id=secrets.token_hex(16), anony=False, mode="trial",
        model_a=models[0], model_b=models[1],
        conversation_a=message, conversation_b=list(message), status="generating",
        language=detect_language(prompt), category=None, voter_id=OWNER_VOTER_ID,
        stats={"a": [], "b": []},
    )


def prepare_regenerate(session: Session, *, battle_id: str, voter: Voter) -> Battle:
    """Drop the last answers of a ready, unvoted battle so the turn runs again."""
    battle = _own_live_battle(session, battle_id, voter)
    if battle.status != "ready":
        raise Conflict("only a finished, unvoted battle can be regenerated")
    battle.conversation_a = battle.conversation_a[:-1]
    battle.conversation_b = battle.conversation_b[:-1]
    stats = battle.stats or {"a": [], "b": []}
    battle.stats = {side: list(stats.get(side, []))[:-1] for side in SIDES}
    battle.status = "generating"
    session.add(battle)
    session.commit()
    return battle


__all__ = ["available_models", "live_model_status", "ModelsUnavailable", "LiveTurn",
           "LiveUpdate", "new_battle", "submit_prompt", "draw_battle", "prepare_regenerate",
           "start_turn", "run_turn", "sync_models", "trial_battle", "OWNER_VOTER_ID"]
