"""The running arena: settings plus the database, handed to every front end."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session

from arena.config import Settings
from arena.db import (
    DatabaseNotReady,
    check_schema,
    current_revision,
    head_revision,
    make_engine,
    read_only,
    upgrade,
)
from arena.models import AppMeta
from arena.providers.transport import EndpointClient

if TYPE_CHECKING:
    from arena.services.board_bootstrap import BoardBootstrap
    from arena.services.exposure_report import ExposureCache
    from arena.services.leaderboard import LeaderboardCache
    from arena.services.live_health import PausedModels
    from arena.services.sampling import Sampler


@dataclass
class Arena:
    settings: Settings
    engine: Engine
    _salt: str | None = field(default=None, repr=False)
    _leaderboard: LeaderboardCache | None = field(default=None, repr=False)
    _paused_models: PausedModels | None = field(default=None, repr=False)
    _sampler: Sampler | None = field(default=None, repr=False)
    _exposure: ExposureCache | None = field(default=None, repr=False)
    _bootstrap: BoardBootstrap | None = field(default=None, repr=False)
    _clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EndpointClient] = field(
        default_factory=weakref.WeakKeyDictionary, repr=False
    )

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = False) -> Arena:
        """The arena on its database. Migrations run only when asked (`arena db upgrade`,
        `arena serve`); otherwise a database that is missing or behind the code's schema
        raises DatabaseNotReady, which says to run `arena db upgrade`."""
        if not migrate:
            check_schema(settings.database_url)
        engine = make_engine(settings.database_url, pool_size=settings.database_pool_size,
                             max_overflow=settings.database_max_overflow)
        if migrate:
            upgrade(engine)
        else:
            revision, head = current_revision(engine), head_revision()
            if revision != head:
                engine.dispose()
                raise DatabaseNotReady(
                    f"the database is at schema revision {revision or 'none'}, the code needs "
                    f"{head}: run `arena db upgrade`")
        return cls(settings=settings, engine=engine)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def read_session(self) -> Session:
        """A session for reads only: on SQLite it never waits behind writers."""
        return Session(read_only(self.engine), expire_on_commit=False)

    @property
    def salt(self) -> str:
        if self._salt is None:
            if self.settings.secret_salt:
                self._salt = self.settings.secret_salt
            else:
                with self.session() as session:
                    row = session.get(AppMeta, "salt")
                    if row is None:
                        raise RuntimeError("database has no salt: run `arena db upgrade`")
                    self._salt = row.value
        return self._salt

    @property
    def leaderboard(self) -> LeaderboardCache:
        """This process's live leaderboard (vote columns loaded on first use)."""
        if self._leaderboard is None:
            from arena.services.leaderboard import LeaderboardCache

            self._leaderboard = LeaderboardCache(
                read_only(self.engine), min_votes=self.settings.battle.leaderboard_min_votes,
                dedup_threshold=self.settings.battle.prompt_dedup_threshold,
                write_engine=self.engine,  # segments for other processes to start from
                settle_seconds=self.settings.battle.segment_settle_seconds,
            )
        return self._leaderboard

    @property
    def bootstrap(self) -> BoardBootstrap:
        """This process's scheduled bootstrap of the public board (started by `arena
        serve`; its ``latest`` is None until a run finished)."""
        if self._bootstrap is None:
            from arena.services.board_bootstrap import BoardBootstrap

            battle = self.settings.battle
            self._bootstrap = BoardBootstrap(self.leaderboard, minutes=battle.bootstrap_minutes,
                                             rounds=battle.bootstrap_rounds)
        return self._bootstrap

    @property
    def sampler(self) -> Sampler:
        """This process's pair sampler (battle.sampling), reading the live board."""
        if self._sampler is None:
            from arena.services.sampling import BoardState, Sampler, board_state

            def current() -> BoardState:
                board = self.leaderboard.board_if_loaded()
                return BoardState.empty() if board is None else board_state(board)

            self._sampler = Sampler(self.settings.battle.sampling, current, record=True)
        return self._sampler

    @property
    def exposure(self) -> ExposureCache:
        """This process's exposure reports (arena.services.exposure_report), 30 s at most."""
        if self._exposure is None:
            from arena.services.exposure_report import ExposureCache

            self._exposure = ExposureCache()
        return self._exposure

    @property
    def paused_models(self) -> PausedModels:
        """This process's copy of which live models are paused."""
        if self._paused_models is None:
            from arena.services.live_health import PausedModels

            self._paused_models = PausedModels(self.engine)
        return self._paused_models

    def http_client(self) -> EndpointClient:
        """A pooled client for model endpoints, one per event loop."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = EndpointClient()
        return client

    async def aclose_http_client(self) -> None:
        """Close this event loop's endpoint client (the app does at shutdown)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def close(self) -> None:
        self.engine.dispose()
