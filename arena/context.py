"""The running arena: settings plus the database, handed to every front end."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session

from arena.config import Settings
from arena.db import make_engine, upgrade
from arena.models import AppMeta


@dataclass
class Arena:
    settings: Settings
    engine: Engine
    _salt: str | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Arena:
        engine = make_engine(settings.database_url)
        if migrate:
            upgrade(engine)
        return cls(settings=settings, engine=engine)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

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

    def close(self) -> None:
        self.engine.dispose()
