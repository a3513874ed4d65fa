"""Arena settings: one validated object, built by `load_settings()`.

Sources, strongest first: values passed in (tests, CLI options), environment
variables (``ARENA_DATABASE_URL``, ``ARENA_SECRET_SALT``, ... and nested ones such
as ``ARENA_BATTLE__LOAD_DEMO``), then the TOML file (``--config``, ``ARENA_CONFIG``
or ``config/arena.toml`` in the working directory when present) read by
pydantic-settings' TOML source with our `include = [...]` files merged in, then
the built-in defaults below.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from arena.config_judges import JudgeSettings
from arena.config_live import LiveModelSettings, LiveSettings

DEFAULT_DATABASE_URL = "sqlite:///arena.db"
DEFAULT_CONFIG_PATH = Path("config") / "arena.toml"
# A character of a prompt in a JSON body, at worst (an emoji escaped as \\ud83d\\ude00),
# and what a request carries besides the prompt: server.max_body_kb must fit both.
JSON_BYTES_PER_CHAR = 12
REQUEST_OVERHEAD = 4096


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)
    title: str = "Arena"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = Field(default=False, description="One JSON object per log line.")
    ui_concurrency: int = Field(
        default=16, ge=1,
        description="Voter page events (battles, votes, live answers) one process runs at "
                    "once; more wait in its queue.")
    ui_queue_size: int = Field(
        default=512, ge=1,
        description="Events that may wait in a process's queue; beyond, a voter is told the "
                    "arena is busy.")
    processes: int = Field(
        default=1, ge=1,
        description="How many `arena serve` processes share this database (behind a proxy): "
                    "at start, each checks that all their connection pools fit PostgreSQL's "
                    "max_connections.")
    max_body_kb: int = Field(
        default=256, ge=16, le=1024 * 1024,
        description="Largest request body, in KiB, on every route (REST, Gradio, /admin); "
                    "larger: 413 at once, before the body is read or parsed.")
    max_header_kb: int = Field(
        default=16, ge=4, le=1024,
        description="Largest request head (request line and headers), in KiB; larger: 431 "
                    "and the connection is closed.")
    malloc_arenas: int = Field(
        default=2, ge=0, le=1024,
        description="glibc malloc arenas of an `arena serve` process (0: glibc's default, "
                    "8 per core); fewer keep a big board's temporaries from piling up per "
                    "thread. MALLOC_ARENA_MAX in the environment wins.")
    malloc_mmap_threshold_kb: int = Field(
        default=1024, ge=0, le=32768,
        description="glibc serves blocks of at least this many KiB by a mapping of their own, "
                    "given back when freed (0: glibc's rule, which raises it after each free and "
                    "so keeps a big board's freed temporaries). MALLOC_MMAP_THRESHOLD_ in the "
                    "environment wins.")
    https: bool | Literal["auto"] = Field(
        default="auto",
        description="Cookies Secure: auto = when the request came over HTTPS, or "
                    "X-Forwarded-Proto: https from identity.trusted_proxies; true = always; "
                    "false = never added by the arena.")

    @field_validator("https", mode="before")
    @classmethod
    def _auto_or_bool(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() in ("true", "false", "auto"):
            return value.lower() if value.lower() == "auto" else value.lower() == "true"
        if isinstance(value, bool):
            return value
        raise ValueError('must be "auto", true or false')


class SamplingSettings(BaseModel):
    """How the next battle's pair is drawn (arena.services.sampling), for answer-set and live
    battles alike."""

    model_config = ConfigDict(extra="forbid")

    policy: Literal["uniform", "weighted", "active"] = Field(
        default="active",
        description="uniform over pairs; weighted by `weights` (and a live model's own "
                    "weight); active: the pairs whose next vote narrows the board's intervals "
                    "most, mixed with `uniform_share`.")
    uniform_share: float = Field(
        default=0.25, ge=0.0, le=1.0,
        description="active: the share of draws made uniformly, so every pair keeps votes.")
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="weighted: relative weight per model name (default 1; 0 never draws it).")
    new_model_boost: float = Field(
        default=3.0, ge=1.0,
        description="weighted: a model's weight is multiplied by this until it has "
                    "`new_model_votes` votes on the board.")
    new_model_votes: int = Field(default=300, ge=0)
    refresh_seconds: float = Field(
        default=2.0, ge=0.0,
        description="How old the board a draw reads may be (active, weighted boosts).")

    @field_validator("weights")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [name for name, weight in value.items() if weight < 0]
        if bad:
            raise ValueError(f"weights must be 0 or more: {', '.join(bad)}")
        return value


class BattleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sampling: SamplingSettings = Field(default_factory=SamplingSettings)
    copilot: str = Field(
        default="",
        description="Judge Copilot: a [[judges]] name whose comparison of the two answers a "
                    "voter may read (empty: off).")
    copilot_before_vote: bool = Field(
        default=False,
        description="Let voters read the Judge Copilot before voting (those battles are "
                    "marked copilot_before_vote); false: only after the vote.")
    bootstrap_minutes: float = Field(
        default=10.0, ge=0,
        description="Bootstrap intervals of the public board, recomputed in the background "
                    "this often and shown with their age (0: off).")
    bootstrap_rounds: int = Field(default=100, ge=10, le=10_000,
                                  description="Bootstrap rounds per run.")
    segment_settle_seconds: float = Field(
        default=600.0, ge=1,
        description="How long a process holds 100,000 votes before it stores them as a "
                    "board segment for other processes to start from; keep it above the "
                    "longest write transaction (a bulk import of 1 M votes: ~90 s).")
    prompt_dedup_threshold: int = Field(
        default=0, ge=0,
        description="Live prompts (normalised) seen more often than this count with weight "
                    "threshold / count in the deduplicated board view; 0: the 99.9th "
                    "percentile of prompt counts, at least 50.")

    answer_sets: list[str] = Field(
        default_factory=list,
        description="Answer sets battles draw from; empty means all imported sets.",
    )
    load_demo: bool = Field(
        default=True,
        description="Import the bundled demo answer set when the database has none.",
    )
    leaderboard_min_votes: int = Field(default=0, ge=0)
    named_mode: Literal["off", "separate", "on"] = Field(
        default="separate",
        description="Named (side-by-side) battles: off; separate = only answers anonymous "
                    "battles never show (sets outside answer_sets, texts not in them); on.",
    )

    @field_validator("sampling", mode="before")
    @classmethod
    def _policy_name(cls, value: Any) -> Any:
        return {"policy": value} if isinstance(value, str) else value


class LimitSettings(BaseModel):
    """Per-voter and per-IP limits, counted in the database (all processes share them)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="false only for load tests and benchmarks.")
    battles_per_minute_voter: int = Field(default=30, ge=1)
    battles_per_minute_ip: int = Field(default=120, ge=1)
    votes_per_minute_voter: int = Field(default=12, ge=1)
    votes_per_minute_ip: int = Field(default=60, ge=1)
    votes_per_day_voter: int = Field(default=1000, ge=1)
    too_fast_min_seconds: float = Field(
        default=1.0, ge=0, description="A vote sooner than this after the answers were shown "
                                       "is flagged too_fast (left out of ratings).")
    too_fast_seconds_per_1000_chars: float = Field(
        default=1.5, ge=0, description="... plus this per 1,000 characters of both answers.")


class IdentitySettings(BaseModel):
    """Who a voter is: the signed cookie, an API-key client's X-Voter-Id, or a login."""

    model_config = ConfigDict(extra="forbid")

    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For "
                    "and X-Forwarded-Proto are believed; empty: none.")
    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        from ipaddress import ip_network

        for item in value:
            try:
                ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or network") from exc
        return value

    login_header: str | None = Field(
        default=None,
        description="Private arenas: the header an authenticating proxy sets to the user's "
                    "login (e.g. X-Forwarded-User), believed only from a trusted proxy; "
                    "each login is one voter.")


class AuditSettings(BaseModel):
    """The anomalous-voter audit (`arena voters audit`, and on a schedule in `arena serve`)."""

    model_config = ConfigDict(extra="forbid")

    interval_minutes: float = Field(default=60.0, ge=0, description="0: no scheduled audit.")


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

    config_file: Path | None = Field(
        default=None, exclude=True,
        description="The TOML file these settings were read from (None: defaults and env).",
    )
    database_url: str = DEFAULT_DATABASE_URL
    database_pool_size: int = Field(
        default=10, ge=1, description="PostgreSQL connections each process keeps open.")
    database_max_overflow: int = Field(
        default=10, ge=0, description="... and may open beyond that under load.")
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
    limits: LimitSettings = Field(default_factory=LimitSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    live: LiveSettings = Field(default_factory=LiveSettings)
    models: list[LiveModelSettings] = Field(
        default_factory=list, description="Live model endpoints ([[models]] tables)."
    )

    judges: list[JudgeSettings] = Field(
        default_factory=list, description="LLM judges ([[judges]] tables)."
    )

    @field_validator("models", "judges")
    @classmethod
    def _unique_names(cls, value: list[Any]) -> list[Any]:
        names = [model.name for model in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"names must be unique; repeated: {', '.join(duplicates)}")
        return value

    @model_validator(mode="after")
    def _copilot_is_a_judge(self) -> Settings:
        copilot = self.battle.copilot
        if copilot and copilot not in {judge.name for judge in self.judges}:
            raise ValueError(f"battle.copilot: {copilot!r} is not a [[judges]] name")
        return self

    @model_validator(mode="after")
    def _body_fits_a_prompt(self) -> Settings:
        needed = (self.live.max_input_chars * JSON_BYTES_PER_CHAR + REQUEST_OVERHEAD) // 1024 + 1
        if self.server.max_body_kb < needed:
            raise ValueError(
                f"server.max_body_kb = {self.server.max_body_kb} is too small for "
                f"live.max_input_chars = {self.live.max_input_chars} (a prompt of that length "
                f"can take {needed} KiB as JSON); raise it or lower live.max_input_chars")
        return self

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
        path = getattr(init_settings, "init_kwargs", {}).get("config_file")
        if path is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, ArenaTomlSource(settings_cls, Path(path)))


class ArenaTomlSource(TomlConfigSettingsSource):
    """The config file, with the files of its top-level `include = [...]` merged in:
    their `[[models]]` are appended, their other keys yield to the including file's."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        super().__init__(settings_cls, toml_file=path)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        return read_config_file(Path(file_path))


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
        if not item["loc"] and item["type"] == "value_error":  # a rule across keys, named in it
            lines.append(f"  {message.removeprefix('Value error, ')}")
            continue
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


def read_config_file(path: Path, *, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The TOML file with its `include = [...]` files merged in (models lists appended)."""
    if path.resolve() in _seen:
        raise ConfigError(f"{path}: included twice (include loop)")
    values = read_toml(path)
    _check_misplaced_include(path, values)
    if "config_file" in values:
        raise ConfigError(f"invalid configuration in {path}:\n  config_file: unknown key")
    includes = values.pop("include", [])
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ConfigError(f"invalid configuration in {path}:\n  include: must be a list of paths")
    for include in includes:
        included = read_config_file(path.parent / include, _seen=(*_seen, path.resolve()))
        models = values.get("models", []) + included.pop("models", [])
        values = {**included, **values}
        if models:
            values["models"] = models
    return values


_INCLUDE_LINE = re.compile(r"^\s*include\s*=", re.MULTILINE)
_TABLE_LINE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?", re.MULTILINE)


def _check_misplaced_include(path: Path, values: dict[str, Any]) -> None:
    """An `include` line written below a [table] header belongs to that table: say so,
    with the line, instead of a bare "unknown key" for a key the owner never wrote."""
    tables = [key for key, value in values.items()
              if isinstance(value, dict) and "include" in value
              or isinstance(value, list) and any(isinstance(v, dict) and "include" in v
                                                 for v in value)]
    if not tables:
        return
    text = path.read_text(encoding="utf-8")
    found = list(_INCLUDE_LINE.finditer(text))
    where = ""
    if found:
        offset = found[-1].start()
        line = text.count("\n", 0, offset) + 1
        headers = [m for m in _TABLE_LINE.finditer(text) if m.start() < offset]
        header = f"[{headers[-1].group(1)}]" if headers else f"[{tables[0]}]"
        where = f" (line {line}, below the {header} header)"
    raise ConfigError(
        f"invalid configuration in {path}:\n  {tables[0]}.include: `include`{where} belongs "
        f"to the {tables[0]} table there, so it is not read as an include. Move the line "
        "above the first [table] header of the file.")


def load_settings(config_path: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings from *overrides*, the environment and the config file, in that order.

    Raises ConfigError naming the offending key.
    """
    explicit = config_path or os.environ.get("ARENA_CONFIG")
    path = Path(explicit) if explicit else DEFAULT_CONFIG_PATH
    config_file = path if explicit or path.exists() else None
    source = f"{path} / ARENA_* environment" if config_file else "ARENA_* environment"
    try:
        return Settings(config_file=config_file, **overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from exc
