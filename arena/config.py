"""Arena settings: one validated object, built by `load_settings()`.

Sources, strongest first: values passed in (tests, CLI options), environment
variables (``ARENA_DATABASE_URL``, ``ARENA_SECRET_SALT``, ... and nested ones such
as ``ARENA_BATTLE__LOAD_DEMO``), then the TOML file (``--config``, ``ARENA_CONFIG``
or ``config/arena.toml`` in the working directory when present), then the
built-in defaults below.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from arena.config_live import LiveModelSettings, LiveSettings

DEFAULT_DATABASE_URL = "sqlite:///arena.db"
DEFAULT_CONFIG_PATH = Path("config") / "arena.toml"
_FILE_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("arena_file_values", default=None)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)
    title: str = "Arena"


class BattleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_sets: list[str] = Field(
        default_factory=list,
        description="Answer sets battles draw from; empty means all imported sets.",
    )
    load_demo: bool = Field(
        default=True,
        description="Import the bundled demo answer set when the database has none.",
    )
    leaderboard_min_votes: int = Field(default=0, ge=0)


class AdminSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(
        default=None,
        min_length=16,
        description="Owner token for the /admin data page and /api/export; unset = disabled.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARENA_", env_nested_delimiter="__", extra="forbid"
    )

    database_url: str = DEFAULT_DATABASE_URL
    secret_salt: str | None = Field(
        default=None,
        description=(
            "Secret for hashing voter IPs and pseudonymous judge ids. When unset, "
            "a random salt is made once and kept in the database."
        ),
    )
    server: ServerSettings = Field(default_factory=ServerSettings)
    battle: BattleSettings = Field(default_factory=BattleSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    live: LiveSettings = Field(default_factory=LiveSettings)
    models: list[LiveModelSettings] = Field(
        default_factory=list, description="Live model endpoints ([[models]] tables)."
    )

    @field_validator("models")
    @classmethod
    def _unique_names(cls, value: list[LiveModelSettings]) -> list[LiveModelSettings]:
        names = [model.name for model in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"model names must be unique; repeated: {', '.join(duplicates)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_values = InitSettingsSource(settings_cls, init_kwargs=_FILE_VALUES.get() or {})
        return (init_settings, env_settings, file_values)


def _key(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
        else:
            parts.append(part)
    return ".".join(parts) or "(top level)"


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for item in error.errors():
        key = _key(item["loc"])
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML file with its `include = [...]` files merged in (models lists appended)."""
    values = read_toml(path)
    includes = values.pop("include", [])
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ConfigError(f"invalid configuration in {path}:\n  include: must be a list of paths")
    for include in includes:
        included = read_config_file(path.parent / include)
        models = values.get("models", []) + included.pop("models", [])
        values = {**included, **values}
        if models:
            values["models"] = models
    return values


def load_settings(config_path: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings from *overrides*, the environment and the config file, in that order.

    Raises ConfigError naming the offending key.
    """
    explicit = config_path or os.environ.get("ARENA_CONFIG")
    path = Path(explicit) if explicit else DEFAULT_CONFIG_PATH
    file_values = read_config_file(path) if explicit or path.exists() else {}
    source = f"{path} / ARENA_* environment" if file_values else "ARENA_* environment"
    token = _FILE_VALUES.set(file_values)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from exc
    finally:
        _FILE_VALUES.reset(token)
