"""Where the public test data lives: ../shared/data beside the repository, or $ARENA_TEST_DATA."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("ARENA_TEST_DATA") or REPO.parent / "shared" / "data")
WHERE = "../shared/data beside the repository, or set ARENA_TEST_DATA"
