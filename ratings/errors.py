"""Exceptions and warnings raised by the :mod:`ratings` package.

::

    ValueError
     └── RatingsError
          ├── RatingsInputError   bad battle data (unknown winner, self-play, empty, NaN weight)
          └── RatingsFitError     the model cannot be fitted (e.g. the MLE does not exist)
    UserWarning
     └── RatingsWarning           e.g. a disconnected comparison graph
"""

from __future__ import annotations


class RatingsError(ValueError):
    """Base class of every error raised by :mod:`ratings`."""


class RatingsInputError(RatingsError):
    """Invalid battle data.

    Parameters
    ----------
    message : str
        What is wrong.
    source : str, optional
        File (or other source) the bad record came from.
    line : int, optional
        1-based line number of the bad record within ``source``.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.source = source
        self.line = line
        where = ""
        if source is not None and line is not None:
            where = f"{source}:{line}: "
        elif source is not None:
            where = f"{source}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)


class RatingsFitError(RatingsError):
    """The requested model cannot be fitted to the data."""


class RatingsWarning(UserWarning):
    """A result is valid but needs care (e.g. disconnected comparison graph)."""


__all__ = ["RatingsError", "RatingsFitError", "RatingsInputError", "RatingsWarning"]
