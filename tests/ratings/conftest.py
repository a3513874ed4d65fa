"""Shared fixtures for the ratings tests: seeded synthetic battles and the GenAI-Arena data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ratings import Battles, battles_from_arrays
from tests.utils.shared_data import SHARED_DATA, WHERE

GENAI_DIR = SHARED_DATA / "genai-arena-20240220"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def simulate(theta: np.ndarray, n: int, rng: np.random.Generator, tie_rate: float = 0.0) -> Battles:
    """Battles between uniformly drawn distinct pairs under Bradley-Terry with ``theta``."""
    m = theta.shape[0]
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    p = 1.0 / (1.0 + np.exp(-(theta[a] - theta[b])))
    out = np.where(rng.random(n) < p, 0, 1)
    if tie_rate:
        out = np.where(rng.random(n) < tie_rate, 2, out)
    names = [f"m{k:02d}" for k in range(m)]
    return battles_from_arrays(a, b, out.astype(np.int8), models=names)


@pytest.fixture
def genai_dir() -> Path:
    if not GENAI_DIR.exists():
        pytest.skip(
            f"GenAI-Arena data not found at {GENAI_DIR} ({WHERE})"
        )
    return GENAI_DIR
