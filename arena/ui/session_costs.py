"""What Gradio spends on each new voter, cut where it does not change what a voter gets.

The voter page has ~64 components. For every new browser session, Gradio 6's
``SessionState`` builds the config of every component of the page up front (~4.5 ms
on these machines), although an event reads back only the few it updates, and the
whole set only when a deep link is made. :class:`LazySessionState` builds each one
when it is first read: the same configs, from the same session copy of the blocks.

And Gradio's page template is checked on disk (a ``stat``) at every page load, for a
file that only changes when Gradio is upgraded.

``install()`` applies both, once per process; a Gradio release that changes what
they rely on makes it fail at start-up (tests/ui/test_session_costs.py), not quietly.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import gradio.routes
import gradio.state_holder

_EagerSessionState = gradio.state_holder.SessionState


class _Shell:
    """The parts of a Blocks that SessionState.__init__ reads, with no blocks to copy."""

    def __init__(self, blocks: Any) -> None:
        self.default_config = blocks.default_config
        self.blocks: dict[int, Any] = {}


class LazyConfigs(MutableMapping[int, dict[str, Any]]):
    """A session's component configs (``SessionState.config_values``), each made on
    first read from the session's blocks, as the eager dict made it at the start."""

    def __init__(self, blocks_config: Any, ids: list[int]) -> None:
        self._blocks_config = blocks_config
        self._order = ids  # the eager dict's order, which iteration keeps
        self._pending = set(ids)
        self._made: dict[int, dict[str, Any]] = {}

    def _make(self, key: int) -> None:
        self._pending.discard(key)
        self._made[key] = self._blocks_config.config_for_block(
            key, [], self._blocks_config.blocks[key])

    def __getitem__(self, key: int) -> dict[str, Any]:
        if key in self._pending:
            self._make(key)
        return self._made[key]

    def __setitem__(self, key: int, value: dict[str, Any]) -> None:
        self._pending.discard(key)
        self._made[key] = value

    def __delitem__(self, key: int) -> None:
        if key in self._pending:
            self._pending.discard(key)
            return
        del self._made[key]

    def __contains__(self, key: object) -> bool:
        return key in self._made or key in self._pending

    def __iter__(self) -> Iterator[int]:
        for key in self._order:  # every config is read: make the rest
            if key in self._pending:
                self._make(key)
        ordered = {key: self._made[key] for key in self._order if key in self._made}
        ordered.update(self._made)  # keys added since go after, as in a dict
        self._made = ordered
        return iter(list(ordered))

    def __len__(self) -> int:
        return len(self._made) + len(self._pending)


class LazySessionState(_EagerSessionState):  # type: ignore[misc, valid-type]
    def __init__(self, blocks: Any) -> None:
        super().__init__(_Shell(blocks))
        self.config_values = LazyConfigs(
            self.blocks_config, [k for k in self.blocks_config.blocks if k in blocks.blocks])


def install(blocks: Any) -> None:
    """Use LazySessionState for every new session of this process, once checked against
    Gradio's own on *blocks*, and stop the template's stat."""
    eager, lazy = _EagerSessionState(blocks), LazySessionState(blocks)
    if dict(lazy.config_values) != eager.config_values or vars(lazy).keys() != vars(eager).keys():
        raise RuntimeError("this Gradio's SessionState differs from the one "
                           "arena.ui.session_costs was written for")
    templates = getattr(gradio.routes, "templates", None)
    if templates is None:
        raise RuntimeError("this Gradio has no gradio.routes.templates: see "
                           "arena.ui.session_costs")
    templates.env.auto_reload = False
    gradio.state_holder.SessionState = LazySessionState


__all__ = ["LazyConfigs", "LazySessionState", "install"]
