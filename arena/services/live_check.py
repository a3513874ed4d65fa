"""`arena models check`: one tiny request to each endpoint, before voters meet it.

Nothing is stored: no battle, no failure, no pause. Each model gets a verdict
an owner can act on (the key is wrong, the model id is unknown, the host is
unreachable, the first token is slow) and its time to first token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from arena.config import Settings
from arena.config_live import LiveModelSettings
from arena.providers import PROVIDERS, TextDelta
from arena.providers.errors import (
    ConnectFailed,
    FirstTokenTimeout,
    ProviderError,
    RateLimited,
    UpstreamRequestError,
)
from arena.providers.transport import EndpointClient
from arena.services.errors import NotFound
from arena.services.live_health import has_key
from arena.services.live_turn import api_key

CHECK_PROMPT = [{"role": "user", "content": "Reply with one word: OK"}]
DEFAULT_SLOW_S = 10.0
VERDICTS = {
    "ok": "ok",
    "slow": "slow first token",
    "wrong_key": "wrong key",
    "unknown_model": "unknown model id",
    "unreachable": "unreachable",
    "timeout": "no first token in time",
    "rate_limited": "rate limited",
    "missing_key": "API key variable not set",
    "error": "error",
}


@dataclass(frozen=True)
class CheckResult:
    model: str
    verdict: str  # a key of VERDICTS
    ttft_s: float | None = None
    detail: str = ""  # redacted by the provider

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    def line(self) -> str:
        timing = f" ({self.ttft_s * 1000:.0f} ms to first token)" if self.ttft_s else ""
        detail = f": {self.detail}" if self.detail and not self.ok else ""
        return f"{VERDICTS[self.verdict]}{timing}{detail}"


def chosen_models(settings: Settings, names: Sequence[str] = ()) -> list[LiveModelSettings]:
    configured = {m.name: m for m in settings.models}
    unknown = [name for name in names if name not in configured]
    if unknown:
        raise NotFound(f"not a configured live model: {', '.join(unknown)}")
    return [configured[name] for name in names] if names else list(configured.values())


async def check_models(settings: Settings, names: Sequence[str] = (), *,
                       client: EndpointClient, slow_after: float = DEFAULT_SLOW_S
                       ) -> list[CheckResult]:
    """Check the named models (all configured ones when none), all at once."""
    models = chosen_models(settings, names)
    return list(await asyncio.gather(*(_check(m, client, slow_after) for m in models)))


async def _check(config: LiveModelSettings, client: EndpointClient,
                 slow_after: float) -> CheckResult:
    if not has_key(config):
        return CheckResult(config.name, "missing_key", detail=f"${config.api_key_env}")
    probe = config.model_copy(update={"max_tokens": 16, "temperature": 0.0})
    provider = PROVIDERS[probe.provider](probe, api_key=api_key(probe))
    started = time.perf_counter()
    stream = provider.stream(CHECK_PROMPT, client=client)
    try:
        async for event in stream:
            if isinstance(event, TextDelta):
                ttft = time.perf_counter() - started
                verdict = "slow" if ttft > slow_after else "ok"
                detail = f"over {slow_after:g}s" if verdict == "slow" else ""
                return CheckResult(config.name, verdict, ttft, detail)
        return CheckResult(config.name, "error", detail="no text in the answer")
    except ProviderError as exc:
        return CheckResult(config.name, _verdict(exc), detail=exc.detail[:300])
    finally:
        await stream.aclose()


def _verdict(error: ProviderError) -> str:
    if isinstance(error, ConnectFailed):
        return "unreachable"
    if isinstance(error, FirstTokenTimeout):
        return "timeout"
    if isinstance(error, RateLimited):
        return "rate_limited"
    if isinstance(error, UpstreamRequestError):
        if error.status in (401, 403):
            return "wrong_key"
        lowered = error.detail.lower()
        if error.status == 404 or ("model" in lowered and any(
                phrase in lowered for phrase in ("not found", "does not exist", "not exist",
                                                 "unknown", "invalid model"))):
            return "unknown_model"
    return "error"
