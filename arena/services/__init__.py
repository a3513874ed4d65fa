"""The service layer: every rule of the arena lives here, once.

The Gradio UI, the REST API and the CLI all call these functions with a
database session; they are the only code that commits.
"""

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
