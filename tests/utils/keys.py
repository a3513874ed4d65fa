"""Scripts name their voters with X-Voter-Id only with an owner-issued API key."""

from __future__ import annotations

from arena.context import Arena
from arena.services.api_keys import create_key

_KEYS: dict[str, str] = {}


def api_key(arena: Arena) -> str:
    """A key of *arena*'s database (one per database, made on first use)."""
    url = arena.engine.url.render_as_string(hide_password=False)
    if url not in _KEYS:
        with arena.session() as session:
            _KEYS[url] = create_key(session, f"tests-{len(_KEYS)}")
    return _KEYS[url]


def script_headers(arena: Arena, voter_id: str) -> dict[str, str]:
    """The headers of a script that votes as *voter_id*."""
    return {"Authorization": f"Bearer {api_key(arena)}", "X-Voter-Id": voter_id}
