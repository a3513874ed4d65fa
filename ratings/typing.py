"""Array type aliases shared by the :mod:`ratings` package."""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]
IndexArray: TypeAlias = NDArray[np.signedinteger[Any]]
"""Model indices as given (int32 or int64): no conversion pass over big inputs."""
BoolArray: TypeAlias = NDArray[np.bool_]

__all__ = ["BoolArray", "FloatArray", "IndexArray", "IntArray"]
