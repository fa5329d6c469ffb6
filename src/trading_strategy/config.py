"""Settings in one place: a TOML file and environment variables with one prefix.

Environment variables use the prefix ``TRADING_STRATEGY_`` and ``__`` between nested keys,
e.g. ``TRADING_STRATEGY_DATABASE_URL`` or ``TRADING_STRATEGY_RISK__MAX_POSITION_PCT=10``
(per strategy: ``TRADING_STRATEGY_RISK__STRATEGIES__SMA_CROSSOVER__MAX_POSITION_PCT=5``).
Lists may be JSON (``["AAPL","MSFT"]``) or comma-separated. Precedence, highest first:
environment, the TOML file, defaults. The file is the one passed to ``load_settings``, else
the one named by ``TRADING_STRATEGY_CONFIG_FILE``, else none. Its keys are the same as the
variables', as TOML tables::

    log_format = "json"
    [risk]
    max_position_pct = 10
    [risk.strategies.sma_crossover]
    max_position_pct = 5

Problems are reported together, one line each, naming the key and where the value came from
(checks between keys, such as a sizing method missing its parameter, run once every key is
valid on its own). Secrets come only from the environment and are never logged (see
``redact_url``).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from trading_strategy.core.errors import ConfigError
from trading_strategy.risk.settings import RiskOverrides, RiskSettings

ENV_PREFIX = "TRADING_STRATEGY_"
#: names the settings file when ``load_settings`` gets none
CONFIG_FILE_ENV = f"{ENV_PREFIX}CONFIG_FILE"


def default_data_dir() -> Path:
    """Per-user data folder (XDG data home), overridable by TRADING_STRATEGY_DATA_DIR."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "trading-strategy"


class ExchangeSettings(BaseModel):
    """A real exchange (ccxt). Keys come from the environment only and print as ``***``."""

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr | None = None
    secret: SecretStr | None = None
    sandbox: bool = True
    api_url: str | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = default_data_dir()
    #: SQLAlchemy URL; empty means the embedded SQLite file in ``data_dir``.
    database_url: str = ""
    log_format: str = "console"
    #: every risk limit (see ``trading_strategy.risk.settings``)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    #: TimescaleDB only: compress bars older than this (read by the migration, see
    #: ``storage.timescale``)
    timescale_compress_after: str = "30 days"
    #: the real exchange's connection (``orders.venues.ccxt_venue``)
    exchange: ExchangeSettings = Field(default_factory=ExchangeSettings)

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'trading-strategy.sqlite3'}"


def redact_url(url: str) -> str:
    """A URL with its password replaced by ``***`` (safe to print or log)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


class ValueSource(StrEnum):
    DEFAULT = "default"
    FILE = "file"
    ENV = "env"


@dataclass(frozen=True, slots=True)
class SettingValue:
    """One effective setting: dotted key, value, and where it came from (``origin``: the
    file path or the environment variable; empty for defaults)."""

    key: str
    value: Any
    source: ValueSource
    origin: str = ""


@dataclass(frozen=True, slots=True)
class LoadedSettings:
    settings: Settings
    config_file: Path | None
    values: tuple[SettingValue, ...]


def load_settings(config_file: Path | None = None) -> Settings:
    """Settings from defaults, the TOML file and the environment (highest last).

    Raises ``ConfigError`` listing every problem, one line each.
    """
    return load_settings_report(config_file).settings


def load_settings_report(config_file: Path | None = None) -> LoadedSettings:
    """Like ``load_settings``, with the source of each general and risk value."""
    if config_file is None and os.environ.get(CONFIG_FILE_ENV):
        config_file = Path(os.environ[CONFIG_FILE_ENV])
    file_data = _read_file(config_file) if config_file is not None else {}
    env_data = _read_env()
    problems = _unknown_env_vars()
    merged = _deep_merge(file_data, env_data)
    file_keys, env_keys = _flatten(file_data), _flatten(env_data)
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        problems.extend(_describe(exc, config_file, file_keys, env_keys))
        settings = None
    if problems or settings is None:
        raise ConfigError("\n".join(problems))
    values = _report(settings, config_file, file_keys, env_keys)
    return LoadedSettings(settings, config_file, values)


# --- reading ------------------------------------------------------------------------------
def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: invalid TOML: {exc}") from None


def _read_env() -> dict[str, Any]:
    try:
        return dict(EnvSettingsSource(Settings)())
    except SettingsError as exc:
        raise ConfigError(f"environment: {exc}") from None


def _unknown_env_vars() -> list[str]:
    """Prefixed variables that name no setting (nested typos are caught by validation)."""
    known = set(Settings.model_fields) | {"config_file"}
    problems = []
    for name in sorted(os.environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        head = name[len(ENV_PREFIX):].split("__", 1)[0].lower()
        if head in known:
            continue
        nested = next((k for k in sorted(known) if head.startswith(f"{k}_")), None)
        if nested is not None:  # RISK_MAX_POSITION_PCT: a single "_" where "__" nests
            rest = name[len(ENV_PREFIX) + len(nested) + 1:]
            hint = f"; nested keys need a double underscore: {ENV_PREFIX}{nested.upper()}__{rest}"
        else:
            hint = _suggest(head, known)
        problems.append(f"{head}: unknown setting{hint} ({name})")
    return problems


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def _env_name(key: str) -> str:
    return ENV_PREFIX + "__".join(key.split(".")).upper()


def _origin(key: str, config_file: Path | None, file_keys: Mapping[str, Any],
            env_keys: Mapping[str, Any]) -> tuple[ValueSource, str]:
    """Where ``key`` (or the table holding it) came from."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in env_keys:
            return ValueSource.ENV, _env_name(candidate)
        if candidate in file_keys:
            return ValueSource.FILE, str(config_file)
    return ValueSource.DEFAULT, ""


# --- error messages -----------------------------------------------------------------------
def _suggest(key: str, allowed: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _allowed_keys(loc: tuple[str, ...]) -> set[str]:
    """The keys valid in the table at ``loc``."""
    if not loc:
        return set(Settings.model_fields)
    if loc == ("risk",):
        return set(RiskSettings.model_fields)
    if len(loc) == 3 and loc[:2] == ("risk", "strategies"):
        return set(RiskOverrides.model_fields)
    return set()


def _describe(exc: ValidationError, config_file: Path | None, file_keys: Mapping[str, Any],
              env_keys: Mapping[str, Any]) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            items = [(loc, f"unknown key{_suggest(loc[-1], _allowed_keys(loc[:-1]))}")]
        elif error["type"] == "value_error" and ":" in message.split("\n")[0]:
            # a model-level check: each line is "field: problem" relative to ``loc``
            items = []
            for line in message.split("\n"):
                field, _, text = line.partition(": ")
                items.append(((*loc, *field.split(".")), text))
        else:
            if "got " not in message and not isinstance(error["input"], Mapping | list):
                message = f"{message}, got {error['input']!r}"
            items = [(loc, message)]
        for key_parts, text in items:
            key = ".".join(key_parts)
            source, origin = _origin(key, config_file, file_keys, env_keys)
            where = f" (from {origin})" if source is ValueSource.ENV else (
                f" (in {origin})" if source is ValueSource.FILE else "")
            lines.append(f"{key}: {text}{where}")
    return lines


# --- the source report ------------------------------------------------------------------
def _report(settings: Settings, config_file: Path | None, file_keys: Mapping[str, Any],
            env_keys: Mapping[str, Any]) -> tuple[SettingValue, ...]:
    values: list[SettingValue] = []

    def add(key: str, value: Any) -> None:
        source, origin = _origin(key, config_file, file_keys, env_keys)
        values.append(SettingValue(key, value, source, origin))

    add("data_dir", settings.data_dir)
    add("database_url", redact_url(settings.database_url))
    add("log_format", settings.log_format)
    risk = settings.risk
    # top-level values with the engine's defaults applied (sizing_method "strategy", ...)
    resolved = risk.for_strategy(None).as_dict()
    for name in RiskSettings.model_fields:
        if name != "strategies":
            add(f"risk.{name}", resolved.get(name, getattr(risk, name)))
    for strategy, override in sorted(risk.strategies.items()):
        for name in sorted(override.model_fields_set):
            add(f"risk.strategies.{strategy}.{name}", getattr(override, name))
    return tuple(values)
