"""Settings in one place: a TOML file and environment variables with one prefix.

Environment variables use the prefix ``TRADING_STRATEGY_`` and ``__`` between nested keys,
e.g. ``TRADING_STRATEGY_DATABASE_URL`` or ``TRADING_STRATEGY_RISK__MAX_POSITION_PCT=10``
(per strategy: ``TRADING_STRATEGY_RISK__STRATEGIES__SMA_CROSSOVER__MAX_POSITION_PCT=5``).
Lists may be JSON (``["AAPL","MSFT"]``) or comma-separated. Precedence, highest first:
environment, a portfolio file's ``[risk]`` table, the settings file, defaults. The settings
file is the one passed to ``load_settings``, else the one named by
``TRADING_STRATEGY_CONFIG_FILE``, else none. A *portfolio* file (``run --config``; one with
``[session]``, ``[venue]`` or ``[[strategies]]``) may be passed instead: its ``[risk]`` table
then sits between the settings file and the environment, so every command (``run``,
``backtest --risk-config``, ``config show --config``) resolves risk the same way. The settings
file's keys are the same as the variables', as TOML tables::

    log_format = "json"
    [risk]
    max_position_pct = 10
    [risk.strategies.sma_crossover]
    max_position_pct = 5

Problems are reported together, one line each, naming the key and where the value came from
(checks between keys, such as a sizing method missing its parameter, run once every key is
valid on its own). Secrets (exchange keys, a database password) come only from the
environment and are never printed: a file holding one is refused, and every value shown
goes through ``core.errors.redact_url``.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from trading_strategy.core.errors import ConfigError, redact_url
from trading_strategy.risk.settings import RiskOverrides, RiskSettings, file_type_problems

if TYPE_CHECKING:
    # imported when a portfolio file is read: the runtime package is not needed otherwise
    from trading_strategy.runtime.portfolio_config import PortfolioConfig

__all__ = [
    "CONFIG_FILE_ENV", "ENV_PREFIX", "ExchangeSettings", "LoadedSettings", "SettingValue",
    "Settings", "ValueSource", "default_data_dir", "load_portfolio", "load_settings",
    "load_settings_report", "redact_url", "secret_values",
]

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

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(?i)https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an http:// or https:// URL")
        return value


class WebSettings(BaseModel):
    """The web app (``trading-strategy serve``), from ``TRADING_STRATEGY_WEB__*``."""

    model_config = ConfigDict(extra="forbid")

    #: a bearer token that authorises every action (compared in constant time)
    token: SecretStr | None = None
    #: the login's user name and Argon2 hash of its password (``argon2`` PHC string)
    user: str = "admin"
    password_hash: SecretStr | None = None
    #: lifetime of a token issued by a login, in seconds
    token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    #: how often the live stream polls the journal, in seconds
    poll_seconds: float = Field(default=0.05, gt=0, le=10)

    @property
    def auth_configured(self) -> bool:
        return self.token is not None or self.password_hash is not None


#: keys whose values are secrets: environment only, never echoed in an error
SECRET_KEYS = ("exchange.api_key", "exchange.secret", "web.token", "web.password_hash")
#: a model-level check's message: "field: problem" lines
_FIELD_PREFIX = re.compile(r"[a-z_][a-z0-9_.]*: ")
#: database URL schemes the storage layer accepts (see ``storage.engine``)
_URL_SCHEME = re.compile(r"(sqlite|postgres|postgresql)(\+[a-z0-9_]+)?://", re.IGNORECASE)
#: a PostgreSQL interval as TimescaleDB takes it: "30 days", "12 hours", "2 weeks"
_INTERVAL = re.compile(
    r"[1-9][0-9]{0,5} ?(second|minute|hour|day|week|month|year)s?", re.IGNORECASE)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = default_data_dir()
    #: SQLAlchemy URL; empty means the embedded SQLite file in ``data_dir``.
    database_url: str = ""
    log_format: Literal["console", "json"] = "console"
    #: every risk limit (see ``trading_strategy.risk.settings``)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    #: TimescaleDB only: compress bars older than this (read by the migration, see
    #: ``storage.timescale``)
    timescale_compress_after: str = "30 days"
    #: the real exchange's connection (``orders.venues.ccxt_venue``)
    exchange: ExchangeSettings = Field(default_factory=ExchangeSettings)
    #: the web app's authentication and live stream (``trading_strategy.web``)
    web: WebSettings = Field(default_factory=WebSettings)

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, value: object) -> object:
        # Path("") is "." : an empty variable would silently mean the current folder
        if isinstance(value, str | Path) and not str(value).strip():
            raise ValueError("must not be empty (unset it to use the default "
                             f"{default_data_dir()})")
        if isinstance(value, str | Path) and "\x00" in str(value):
            raise ValueError("must be a folder path")
        return Path(value).expanduser() if isinstance(value, str | Path) else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not _URL_SCHEME.match(value):
            raise ValueError(
                f"must be sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE, got "
                f"{redact_url(value)!r}")
        return value

    @field_validator("timescale_compress_after")
    @classmethod
    def _interval(cls, value: str) -> str:
        if not _INTERVAL.fullmatch(value.strip()):
            raise ValueError(f"must be an interval such as '30 days' or '12 hours', got "
                             f"{value!r}")
        return value

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'trading-strategy.sqlite3'}"

    def open_store(self) -> Any:
        """The application database (a ``storage.Store``). The embedded SQLite file — this
        user's own, in the data folder — is brought to the current schema when it is older;
        a configured database (PostgreSQL in production, perhaps shared) is only checked:
        an older one needs ``trading-strategy db upgrade``."""
        from trading_strategy.storage import open_store

        return open_store(self.effective_database_url(), upgrade_older=not self.database_url)


class ValueSource(StrEnum):
    DEFAULT = "default"
    FILE = "file"
    PORTFOLIO = "portfolio"
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
    """The settings, the files they came from and each value's source. With a portfolio
    file, ``portfolio`` is that file validated, its ``risk`` the merged one a session uses."""

    settings: Settings
    config_file: Path | None
    values: tuple[SettingValue, ...]
    portfolio: PortfolioConfig | None = None
    portfolio_file: Path | None = None


def load_settings(config_file: Path | None = None) -> Settings:
    """Settings from defaults, the TOML file and the environment (highest last).

    Raises ``ConfigError`` listing every problem, one line each.
    """
    return load_settings_report(config_file).settings


def load_portfolio(path: Path) -> PortfolioConfig:
    """The portfolio file with the risk settings a session uses: defaults, the settings
    file's ``[risk]``, this file's ``[risk]``, then ``TRADING_STRATEGY_RISK__*`` variables
    (highest last; see ``load_settings_report``). Raises ``ConfigError``."""
    loaded = load_settings_report(path, portfolio=True)
    assert loaded.portfolio is not None  # portfolio=True guarantees it
    return loaded.portfolio


#: top-level tables that make a TOML file a portfolio file rather than a settings file
PORTFOLIO_TABLES = frozenset({"session", "venue", "strategies"})


@dataclass(frozen=True, slots=True)
class _Layer:
    """One source of values below the environment: its kind, where it is, its tables."""

    source: ValueSource
    origin: str
    data: dict[str, Any]
    keys: dict[str, Any]


def load_settings_report(config_file: Path | None = None, *,
                         portfolio: bool | None = None) -> LoadedSettings:
    """Like ``load_settings``, with the source of each value.

    ``config_file`` is a settings file or a portfolio file (``portfolio=None``: told apart
    by its tables; ``True``: must be one). A portfolio file is validated whole and its
    ``[risk]`` table layered over the settings file named by
    ``TRADING_STRATEGY_CONFIG_FILE``; the environment still has the last word.
    """
    settings_file = config_file
    settings_raw: dict[str, Any] | None = None
    portfolio_raw: dict[str, Any] | None = None
    if config_file is not None:
        settings_raw = read_toml(config_file, "portfolio file" if portfolio else "config file")
        if portfolio or (portfolio is None and PORTFOLIO_TABLES & settings_raw.keys()):
            portfolio_raw, settings_raw, settings_file = settings_raw, None, None
    if settings_file is None and os.environ.get(CONFIG_FILE_ENV):
        settings_file = Path(os.environ[CONFIG_FILE_ENV])
    layers: list[_Layer] = []
    problems: list[str] = []
    if settings_file is not None:
        data = settings_raw if settings_raw is not None else \
            read_toml(settings_file, "config file")
        problems += _secrets_in_file(data, settings_file)
        layers.append(_Layer(ValueSource.FILE, str(settings_file), data, _flatten(data)))
    if portfolio_raw is not None:
        assert config_file is not None
        risk = portfolio_raw.get("risk", {})
        data = {"risk": risk} if isinstance(risk, Mapping) else {}
        layers.append(_Layer(ValueSource.PORTFOLIO, str(config_file), data, _flatten(data)))
    for layer in layers:
        # a file has real TOML types: a quoted number there is a mistake (the environment's
        # values are strings, so the models themselves must accept them)
        problems += [f"{line} (in {layer.origin})"
                     for line in file_type_problems(layer.data.get("risk"))]
    env_data = _read_env()
    problems += _unknown_env_vars()
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _deep_merge(merged, layer.data)
    merged = _deep_merge(merged, env_data)
    env_keys = _flatten(env_data)
    settings: Settings | None = None
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        problems.extend(_describe(exc, layers, env_keys))
    config: PortfolioConfig | None = None
    if portfolio_raw is not None:
        from trading_strategy.runtime.portfolio_config import (
            PortfolioConfig,
            describe_errors,
            parse_portfolio,
        )

        assert config_file is not None
        try:
            # the file alone first: its own mistakes are named with the file
            parse_portfolio(portfolio_raw, source=str(config_file))
            if settings is not None:
                config = PortfolioConfig.model_validate({**portfolio_raw,
                                                         "risk": settings.risk})
        except ConfigError as exc:
            problems.append(str(exc))
        except ValidationError as exc:
            problems.append(f"{config_file}: " + "; ".join(describe_errors(exc)))
    if problems or settings is None:
        raise ConfigError("\n".join(problems))
    values = _report(settings, layers, env_keys, config)
    return LoadedSettings(settings, settings_file, values, config,
                          config_file if portfolio_raw is not None else None)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The secret values the environment holds (exchange keys, the database password,
    decoded and as typed), longest first: the command line masks them in any message."""
    env = os.environ if environ is None else environ
    found = [env.get(f"{ENV_PREFIX}EXCHANGE__API_KEY", ""),
             env.get(f"{ENV_PREFIX}EXCHANGE__SECRET", "")]
    url = env.get(f"{ENV_PREFIX}DATABASE_URL", "")
    if url:
        try:
            parts = urlsplit(url)
            if parts.password:
                found += [parts.password, unquote(parts.password)]
            found += [v for k, v in parse_qsl(parts.query) if "pass" in k.lower()]
        except ValueError:  # not a URL: the redaction of key=value pairs still applies
            pass
        found += re.findall(r"(?i)password\s*=\s*'?([^'\s&;]+)", url)
    return sorted({v for v in found if v}, key=len, reverse=True)


# --- reading ------------------------------------------------------------------------------
def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML file's tables; every way it can be unreadable is one ``ConfigError``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: not found") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot be read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{what} {path}: line {line}: not UTF-8 (byte "
                          f"0x{data[exc.start]:02x}); save the file as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path}: invalid TOML: {exc}") from None


def _secrets_in_file(data: Mapping[str, Any], path: Path) -> list[str]:
    """Secrets belong in the environment: a file is copied, committed and shared."""
    problems = []
    exchange = data.get("exchange")
    for key in ("api_key", "secret"):
        if isinstance(exchange, Mapping) and key in exchange:
            problems.append(f"exchange.{key}: a secret is read from the environment only "
                            f"({_env_name(f'exchange.{key}')}), not from a file (in {path})")
    url = data.get("database_url")
    if isinstance(url, str) and redact_url(url) != url:
        problems.append(f"database_url: a password is read from the environment only: put "
                        f"the URL in {_env_name('database_url')} (in {path})")
    return problems
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


def _origin(key: str, layers: list[_Layer],
            env_keys: Mapping[str, Any]) -> tuple[ValueSource, str]:
    """Where ``key`` (or the table holding it) came from: the highest source naming it."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in env_keys:
            return ValueSource.ENV, _env_name(candidate)
    for layer in reversed(layers):
        for end in range(len(parts), 0, -1):
            if ".".join(parts[:end]) in layer.keys:
                return layer.source, layer.origin
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


def _describe(exc: ValidationError, layers: list[_Layer],
              env_keys: Mapping[str, Any]) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            items = [(loc, f"unknown key{_suggest(loc[-1], _allowed_keys(loc[:-1]))}")]
        elif error["type"] == "value_error" and _FIELD_PREFIX.match(message):
            # a model-level check: each line is "field: problem" relative to ``loc``
            items = []
            for line in message.split("\n"):
                field, _, text = line.partition(": ")
                items.append(((*loc, *field.split(".")), text))
        elif ".".join(loc) in SECRET_KEYS:
            items = [(loc, message.split(", got ")[0])]  # never echo a secret
        else:
            if "got " not in message and not isinstance(error["input"], Mapping | list):
                message = f"{message}, got {_shown(error['input'])}"
            items = [(loc, message)]
        for key_parts, text in items:
            key = ".".join(key_parts)
            source, origin = _origin(key, layers, env_keys)
            where = f" (from {origin})" if source is ValueSource.ENV else (
                f" (in {origin})" if origin else "")
            lines.append(f"{key}: {text}{where}")
    return lines


def _shown(value: Any) -> str:
    """An offending value for a message: short, printable, secrets masked."""
    text = redact_url(repr(value)) if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- the source report ------------------------------------------------------------------
def _report(settings: Settings, layers: list[_Layer], env_keys: Mapping[str, Any],
            portfolio: PortfolioConfig | None) -> tuple[SettingValue, ...]:
    values: list[SettingValue] = []

    def add(key: str, value: Any) -> None:
        source, origin = _origin(key, layers, env_keys)
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
    if portfolio is not None:
        values.extend(_portfolio_values(portfolio, layers[-1].origin))
    return tuple(values)


def _portfolio_values(config: PortfolioConfig, origin: str) -> list[SettingValue]:
    """What the session itself will use from the portfolio file (no environment here)."""
    values = []
    for section in (config.session, config.venue):
        prefix = "session" if section is config.session else "venue"
        for name in type(section).model_fields:
            given = name in section.model_fields_set
            value = getattr(section, name)
            values.append(SettingValue(
                f"{prefix}.{name}", redact_url(value) if name == "url" else value,
                ValueSource.PORTFOLIO if given else ValueSource.DEFAULT, origin if given else ""))
    for entry in config.strategies:
        for name in ("strategy", "symbol", "timeframe", "capital", "size", "params"):
            values.append(SettingValue(f"strategies.{entry.name}.{name}", getattr(entry, name),
                                       ValueSource.PORTFOLIO, origin))
    if config.data is not None:
        # each traded symbol's feed as the session builds it (its own keys over the default)
        for symbol in dict.fromkeys(e.symbol for e in config.strategies):
            feed = config.data.settings_for(symbol)
            for name in type(feed).model_fields:
                value = getattr(feed, name)
                if value is not None:
                    values.append(SettingValue(f"data.{symbol}.{name}", value,
                                               ValueSource.PORTFOLIO, origin))
        for provider, endpoints in config.data.providers.items():
            for name in ("ws_url", "rest_url"):
                url = getattr(endpoints, name)
                if url is not None:
                    values.append(SettingValue(f"data.providers.{provider}.{name}",
                                               redact_url(url), ValueSource.PORTFOLIO, origin))
    return values
