"""The one parser for ``since``/``until`` times, shared by every door.

The CLI (``arena export votes``, ``arena ratings``), ``GET /api/export`` and the
admin page all read a time the same way: an ISO 8601 date or date-time (naive
means UTC; an offset is honoured) or unix seconds (int or float). Only the
standard library is used, so the CLI imports this without the app.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_UNIX_SECONDS = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


class TimeValueError(ValueError):
    """A time that is neither ISO 8601 nor unix seconds; the message names the input."""


def parse_time(value: str | float | datetime | None, name: str | None = None) -> datetime | None:
    """*value* as an aware UTC datetime (``None`` stays ``None``).

    *name* (``--since``, ``until``) starts the error message when given.

    Raises
    ------
    TimeValueError
        When *value* is neither an ISO 8601 date/date-time nor unix seconds.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            if isinstance(value, int | float):
                moment = datetime.fromtimestamp(value, UTC)
            elif _UNIX_SECONDS.fullmatch(value.strip()):
                moment = datetime.fromtimestamp(float(value), UTC)
            else:
                moment = datetime.fromisoformat(value.strip())
        except (ValueError, OverflowError, OSError) as exc:
            prefix = f"{name}: " if name else ""
            raise TimeValueError(f"{prefix}expected an ISO 8601 date/time or unix seconds, "
                                 f"got {value!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
