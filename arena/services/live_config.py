"""Live models reloaded from the config file while the arena runs.

`reload_models` re-reads the file the arena was started with (and its
includes) and swaps in its `[[models]]` and `[live]` settings; everything else
(database, server, admin) needs a restart. New endpoints join sampling at
once, removed ones are no longer drawn; a turn in flight keeps the endpoint
settings it started with, so it finishes. Invalid files change nothing.

Triggers: `ConfigWatcher` (each `arena serve` process looks at the files'
modification times every few seconds, and at once on SIGHUP), the owner's REST
route, and `arena models reload`, which calls that route.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from arena.config import ConfigError, load_settings, read_toml
from arena.context import Arena
from arena.services.errors import InvalidInput
from arena.services.live import sync_models

log = logging.getLogger("arena.config")
WATCH_INTERVAL_S = 2.0


@dataclass(frozen=True)
class ModelsReload:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{label}: {', '.join(names)}" for label, names in
                 (("added", self.added), ("removed", self.removed), ("changed", self.changed))
                 if names]
        return "; ".join(parts) or "no change to the models"


_reload_lock = threading.Lock()


def reload_models(arena: Arena) -> ModelsReload:
    """Swap in the config file's models and live settings. Raises InvalidInput when
    the arena has no config file or the file is invalid (naming the key)."""
    path = arena.settings.config_file
    if path is None:
        raise InvalidInput("this arena was started without a config file: nothing to reload")
    with _reload_lock:
        try:
            fresh = load_settings(path)
        except ConfigError as exc:
            raise InvalidInput(str(exc)) from exc
        current = arena.settings
        updated = current.model_copy(update={"models": fresh.models, "live": fresh.live})
        with arena.session() as session:
            sync_models(session, updated)
        before = {m.name: m for m in current.models}
        after = {m.name: m for m in updated.models}
        result = ModelsReload(
            added=[name for name in after if name not in before],
            removed=[name for name in before if name not in after],
            changed=[name for name in after if name in before and after[name] != before[name]],
        )
        arena.settings = updated
    log.info("models reloaded from %s: %s", path, result.summary())
    return result


def config_files(path: Path) -> list[Path]:
    """The config file and every file it includes, as far as they can be read."""
    found, pending = [], [path]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.append(current)
        try:
            includes = read_toml(current).get("include", [])
        except ConfigError:
            continue
        if isinstance(includes, list):
            pending += [current.parent / i for i in includes if isinstance(i, str)]
    return found


def _signature(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    marks = []
    for path in paths:
        try:
            stat = path.stat()
            marks.append((str(path), stat.st_mtime_ns, stat.st_size))
        except OSError:
            marks.append((str(path), -1, -1))
    return tuple(marks)


class ConfigWatcher:
    """Reloads the models when the config files change, or when `poke()` is called."""

    def __init__(self, arena: Arena, *, interval: float = WATCH_INTERVAL_S) -> None:
        self.arena = arena
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        path = arena.settings.config_file
        self._seen = _signature(config_files(path)) if path else ()

    def start(self) -> ConfigWatcher:
        if self.arena.settings.config_file is not None:
            self._thread = threading.Thread(target=self._run, name="config-watcher",
                                            daemon=True)
            self._thread.start()
        return self

    def poke(self) -> None:
        """Reload now (SIGHUP): safe to call from a signal handler."""
        self._seen = ()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            path = self.arena.settings.config_file
            if path is None:
                return
            signature = _signature(config_files(path))
            if signature == self._seen:
                continue
            self._seen = signature
            try:
                reload_models(self.arena)
            except InvalidInput as exc:
                log.error("config changed but was not reloaded (the old models stay): %s", exc)
            except Exception:
                log.exception("config reload failed (the old models stay)")
