"""The service layer: every rule of the arena lives here, once.

The Gradio UI, the REST API and the CLI all call these functions with a
database session; they are the only code that commits.

The names below are imported on first use (PEP 562): a process that needs one
service module -- an export's worker -- does not load every service, nor numpy
and the rating code that some of them need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arena.services.answer_sets import ImportSummary, ensure_demo, import_answer_set
    from arena.services.battles import (
        battle_for_voter,
        get_battle,
        models_with_answers,
        public_view,
        start_battle,
    )
    from arena.services.errors import (
        Conflict,
        Forbidden,
        InvalidInput,
        NotFound,
        ServiceError,
        TooManyRequests,
        Unauthorized,
    )
    from arena.services.stats import ModelStats, model_stats
    from arena.services.voters import Voter
    from arena.services.votes import record_vote

_HOMES = {
    "answer_sets": ("ImportSummary", "ensure_demo", "import_answer_set"),
    "battles": ("battle_for_voter", "get_battle", "models_with_answers", "public_view",
                "start_battle"),
    "errors": ("Conflict", "Forbidden", "InvalidInput", "NotFound", "ServiceError",
               "TooManyRequests", "Unauthorized"),
    "stats": ("ModelStats", "model_stats"),
    "voters": ("Voter",),
    "votes": ("record_vote",),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

__all__ = [
    "Conflict",
    "battle_for_voter",
    "Forbidden",
    "ImportSummary",
    "InvalidInput",
    "ModelStats",
    "NotFound",
    "ServiceError",
    "Voter",
    "ensure_demo",
    "get_battle",
    "import_answer_set",
    "model_stats",
    "models_with_answers",
    "public_view",
    "record_vote",
    "start_battle",
    "TooManyRequests",
    "Unauthorized",
]
