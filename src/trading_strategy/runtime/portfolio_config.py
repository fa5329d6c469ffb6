"""``portfolio.toml``: the strategies of a paper or live session, their capital and the venue.

::

    [session]
    name = "demo"              # letters, digits, '_', '.' (not only dots); names its folder
    speed = 0                  # replay speed: 0 = as fast as possible, 60 = a minute per
                               # second; else 1 (real time) to 1e9
    start = "2010-01-01"       # optional replay window (UTC dates or ISO-8601 date-times)
    end = "2015-01-01"         # after start; start no later than today
    metrics_port = 0           # serve /metrics on this port (0 = off)

    [venue]
    kind = "paper"             # paper (in-process) | paper-http (trading-strategy paper-venue)
                               # | ccxt (a real exchange account; its testnet first)
    url = "http://127.0.0.1:8765"  # paper-http: the venue; ccxt: optional REST base override
    commission = 0.001         # paper fills use the backtester's models; percent: a
    commission_model = "percent"  # fraction (< 1) of the notional | per-unit: money per
    # unit, with commission_min (money) per fill | fixed: money per order
    slippage = "bps"           # bps (slippage_bps) | range | atr (slippage_value: the fraction
    slippage_bps = 2           # of the bar's range / the multiple of ATR(14))
    # ccxt only: exchange = "binance", sandbox = true; keys from the environment only
    # (TRADING_STRATEGY_EXCHANGE__API_KEY / __SECRET), never from this file

    [data.default]             # optional: live data instead of replaying history
    providers = ["binance", "coinbase"]   # priority order: the first is read, the rest stand by
    timeframe = "1m"
    stale_after = 1.5          # multiples of the bar length (see market_data.feed)
    failover_after = 1.5
    switch_back_after = 5
    [data.instruments."BTC/USDT"]   # per instrument: the same keys, over the default
    providers = ["coinbase"]
    [data.providers.binance]   # endpoint overrides (tests, testnets, proxies)
    ws_url = "ws://127.0.0.1:9443"
    rest_url = "http://127.0.0.1:8080"

    [[strategies]]
    name = "sma_goog"          # unique; the strategy's id in orders, logs and metrics
    strategy = "sma_crossover"
    symbol = "GOOG"            # bundled sample, stored symbol or a CSV/Parquet path
    capital = 50000
    params = { fast = 10, slow = 30 }

    [risk]                     # the same keys as the risk settings (see `config show`)
    max_drawdown_pct = 20

Numbers must be TOML numbers (a string or a boolean where a number belongs is an error, not
a guess), finite and within the bounds below. ``parse_portfolio`` validates a mapping
alone; ``trading_strategy.config.load_portfolio`` reads a file and merges the risk settings
of the environment over its ``[risk]`` table (docs/configuration.md): the settings layer
sits above the runtime, so this module never imports it.
"""

from __future__ import annotations

import math
import os
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from trading_strategy.core.errors import ConfigError
from trading_strategy.kernel.costs import (
    AtrSlippage,
    CommissionModel,
    FixedBpsSlippage,
    FixedCommission,
    PercentCommission,
    PerUnitCommission,
    RangeSlippage,
    SlippageModel,
)
from trading_strategy.risk.settings import RiskSettings

_NAME = re.compile(r"[A-Za-z0-9_.]{1,64}")
#: bounds: beyond them a value is a typo, not a plan
MAX_SPEED = 1e9  # already far faster than any replay can run; 0 means "no pacing" anyway
MAX_CAPITAL = Decimal(10) ** 12
MIN_CAPITAL = Decimal(1)
MAX_SLIPPAGE_BPS = Decimal(10_000)  # 100 % of the price
MAX_LATENCY_MS = 86_400_000  # one day
MAX_SLIPPAGE_MULTIPLE = Decimal(100)  # a hundred bar ranges / ATRs
MAX_INTERVALS = 1e6  # feed thresholds, in expected intervals
_SQLITE_HEADER = b"SQLite format 3\x00"
_FIELD_PREFIX = re.compile(r"[a-z_][a-z0-9_.]*: ")


def check_name(value: str, what: str = "name") -> str:
    """``value`` if it is one safe path component (it names a folder or file), else a
    ``ValueError`` saying what is allowed. ``.`` and ``..`` match the character set but
    would name the data folder itself or its parent."""
    if not isinstance(value, str) or not _NAME.fullmatch(value) or set(value) == {"."}:
        raise ValueError(f"{what} must be 1-64 letters, digits, '_' or '.' and not only "
                         f"dots, got {value!r}")
    return value


def require_name(value: str, what: str = "--session") -> str:
    """``check_name`` for command-line input: a ``ConfigError`` naming the option."""
    try:
        return check_name(value, what)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _number(value: object) -> object:
    """A TOML number for a Decimal field: exact from ints, from floats by their shortest
    repr (0.1 stays 0.1); strings, booleans, NaN and infinities are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"must be a number, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value!r}")
        return Decimal(repr(value))
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value!r}")
    return value


def _moment_text(value: object) -> object:
    """A replay bound as the canonical text the session parses: ``YYYY-MM-DD`` for a date,
    ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` in UTC for a date-time (TOML dates accepted too)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value.isoformat()
    elif isinstance(value, str):
        try:
            if "T" not in value and " " not in value.strip():
                return date.fromisoformat(value.strip()).isoformat()
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"must be a date (YYYY-MM-DD) or an ISO-8601 date-time, got "
                             f"{value!r}") from None
    else:
        raise ValueError(f"must be a date (YYYY-MM-DD), got {value!r}")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat()


def moment(text: str) -> datetime:
    """The UTC instant of a canonical bound (see ``_moment_text``), naive."""
    return datetime.fromisoformat(text)


Money = Annotated[Decimal, BeforeValidator(_number)]
Bound = Annotated[str | None, BeforeValidator(_moment_text)]


#: the journal stores client order ids in this many characters (``orders.id``)
ORDER_ID_LENGTH = 64
#: an order id is ``<strategy>-<session>.<6 hex>-<bar:08d>-<k>`` and its exit legs add
#: ``-sl``/``-tp``: 23 characters besides the two names (up to 99 decisions a bar)
MAX_NAMES_IN_ORDER_ID = ORDER_ID_LENGTH - 23


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionSection(_Model):
    name: str = "paper"
    speed: float = Field(0.0, ge=0, le=MAX_SPEED, strict=True)
    start: Bound = None
    end: Bound = None
    metrics_port: int = Field(0, ge=0, le=65535, strict=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "session name")

    @field_validator("speed")
    @classmethod
    def _speed(cls, value: float) -> float:
        # below 1 the replay runs slower than the market did: a typo that looks like a hang
        if 0 < value < 1:
            raise ValueError(f"must be 0 (as fast as possible) or at least 1 (real time), "
                             f"got {value!r}")
        return _finite(value)

    @model_validator(mode="after")
    def _window(self) -> SessionSection:
        today = datetime.now(UTC).replace(tzinfo=None)
        if self.start is not None and moment(self.start) > today:
            raise ValueError(f"start: {self.start} is in the future: there are no bars to "
                             "replay yet")
        if self.start is not None and self.end is not None and \
                moment(self.end) <= moment(self.start):
            raise ValueError(f"end: {self.end} must be after start {self.start}")
        return self


#: the live data providers a ``[data]`` section can name
PROVIDERS = ("binance", "coinbase")
#: ccxt exchanges the order venue speaks (``orders.venues.ccxt_venue``)
CCXT_EXCHANGES = ("binance",)
#: keys that hold secrets: never in a file (copied, committed, shared)
_SECRET_KEYS = ("api_key", "apikey", "apiKey", "secret", "password")
SlippageKind = Literal["bps", "range", "atr"]
CommissionKind = Literal["percent", "per-unit", "fixed"]
#: a per-unit or per-order commission beyond this is a typo, not a fee
MAX_COMMISSION_MONEY = Decimal(10) ** 6


class VenueSection(_Model):
    kind: Literal["paper", "paper-http", "ccxt"] = "paper"
    url: str = "http://127.0.0.1:8765"
    #: percent: a fraction of the notional; per-unit / fixed: money (see commission_model)
    commission: Money = Field(Decimal(0), ge=0, le=MAX_COMMISSION_MONEY)
    commission_model: CommissionKind = "percent"
    #: per-unit only: the least commission of a fill, in money
    commission_min: Money | None = Field(None, ge=0, le=MAX_COMMISSION_MONEY)
    slippage: SlippageKind = "bps"
    slippage_bps: Money = Field(Decimal(0), ge=0, le=MAX_SLIPPAGE_BPS)
    #: range: the fraction of the bar's high - low; atr: the multiple of ATR(14)
    slippage_value: Money | None = Field(None, ge=0, le=MAX_SLIPPAGE_MULTIPLE)
    latency_ms: int = Field(0, ge=0, le=MAX_LATENCY_MS, strict=True)
    db: str | None = None
    #: ccxt: the exchange (ccxt's id) and whether to use its testnet
    exchange: Literal["binance"] | None = None
    sandbox: bool = Field(True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in _SECRET_KEYS:
                if key in data:
                    env = "SECRET" if key in ("secret", "password") else "API_KEY"
                    raise ValueError(f"{key}: exchange keys are read from the environment "
                                     f"only (TRADING_STRATEGY_EXCHANGE__{env}), not from a "
                                     "file: remove it here")
        return data

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"not a valid URL ({exc}), got {value!r}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http:// or https:// URL with a host, got {value!r}")
        del port
        return value

    @field_validator("db")
    @classmethod
    def _db(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = _unusable_db(value)
        if problem:
            raise ValueError(f"{problem}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> VenueSection:
        problems = []
        if self.kind == "ccxt" and self.exchange is None:
            problems.append(f"exchange: a ccxt venue names its exchange (one of "
                            f"{', '.join(CCXT_EXCHANGES)})")
        if self.kind != "ccxt":
            for key in ("exchange", "sandbox"):
                if key in self.model_fields_set:
                    problems.append(f"{key}: only a ccxt venue has it (kind = {self.kind!r})")
        if self.commission_model == "percent" and self.commission >= 1:
            problems.append(f"commission: a percent commission is a fraction below 1 (0.001 "
                            f"= 0.1 %), got {self.commission}")
        if self.commission_min is not None and self.commission_model != "per-unit":
            problems.append(f"commission_min: only with commission_model \"per-unit\" (not "
                            f"{self.commission_model!r})")
        if self.slippage == "bps":
            if self.slippage_value is not None:
                problems.append("slippage_value: slippage \"bps\" takes slippage_bps")
        else:
            if self.slippage_value is None:
                problems.append(f"slippage_value: slippage {self.slippage!r} needs it (e.g. "
                                "0.1: a tenth of the bar's range / of ATR(14))")
            if "slippage_bps" in self.model_fields_set:
                problems.append(f"slippage_bps: only with slippage \"bps\" (not "
                                f"{self.slippage!r}: give slippage_value)")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def rest_url(self) -> str | None:
        """The ccxt venue's REST base override (``None``: the exchange's own)."""
        return self.url if "url" in self.model_fields_set else None

    def commission_costs(self) -> CommissionModel:
        """The kernel's commission model this section names (the paper venue, the session's
        all-in sizing and the backtest of the same file use this one)."""
        if self.commission_model == "per-unit":
            return PerUnitCommission(self.commission, self.commission_min or Decimal(0))
        if self.commission_model == "fixed":
            return FixedCommission(self.commission)
        return PercentCommission(self.commission)

    def slippage_model(self) -> SlippageModel:
        """The kernel's slippage model this section names (the paper venue and the backtest
        of the same file use this one)."""
        if self.slippage == "range":
            return RangeSlippage(self.slippage_value or Decimal(0))
        if self.slippage == "atr":
            return AtrSlippage(self.slippage_value or Decimal(0))
        return FixedBpsSlippage(self.slippage_bps)


def _ws_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"must be a ws:// or wss:// URL with a host, got {value!r}")
    return value


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL with a host, got {value!r}")
    return value


class ProviderEndpoints(_Model):
    """Where a provider connects (unset: the exchange's public endpoints)."""

    ws_url: Annotated[str | None, BeforeValidator(_ws_url)] = None
    rest_url: Annotated[str | None, BeforeValidator(_http_url)] = None


class FeedSettings(_Model):
    """An instrument's live data (``[data.default]`` or ``[data.instruments.<symbol>]``)."""

    providers: list[str] | None = Field(None, min_length=1)
    timeframe: str | None = None
    stale_after: float | None = Field(None, gt=0, le=MAX_INTERVALS, strict=True)
    failover_after: float | None = Field(None, gt=0, le=MAX_INTERVALS, strict=True)
    switch_back_after: float | None = Field(None, gt=0, le=MAX_INTERVALS, strict=True)

    @field_validator("providers")
    @classmethod
    def _providers(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [p for p in value if p not in PROVIDERS]
        if unknown:
            raise ValueError(f"unknown provider {unknown[0]!r}: use "
                             f"{' or '.join(PROVIDERS)}")
        if len(set(value)) != len(value):
            raise ValueError(f"a provider is listed twice in {value}")
        return value

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, value: str | None) -> str | None:
        return _check_timeframe(value)


class DataSection(_Model):
    """Live market data instead of a replay (see ``runtime.live_data``)."""

    default: FeedSettings = FeedSettings()
    instruments: dict[str, FeedSettings] = Field(default_factory=dict)
    providers: dict[str, ProviderEndpoints] = Field(default_factory=dict)

    @field_validator("providers")
    @classmethod
    def _known(cls, value: dict[str, ProviderEndpoints]) -> dict[str, ProviderEndpoints]:
        unknown = sorted(set(value) - set(PROVIDERS))
        if unknown:
            raise ValueError(f"unknown provider {unknown[0]!r}: use "
                             f"{' or '.join(PROVIDERS)}")
        return value

    def settings_for(self, symbol: str) -> FeedSettings:
        """``symbol``'s settings: its own table's keys over the default's."""
        own = self.instruments.get(symbol)
        if own is None:
            return self.default
        merged = {**self.default.model_dump(exclude_none=True),
                  **own.model_dump(exclude_none=True)}
        return FeedSettings.model_validate(merged)


def _unusable_db(text: str) -> str:
    """Why the paper venue could not open a SQLite file at ``text`` ('' if it could)."""
    if not text.strip() or "\x00" in text:
        return "must be a file path"
    path = Path(text).expanduser()
    try:
        if path.is_dir():
            return "is a folder, not a file"
        if path.exists():
            if not os.access(path, os.R_OK | os.W_OK):
                return "cannot be read and written"
            with path.open("rb") as handle:
                head = handle.read(len(_SQLITE_HEADER))
            if head and head != _SQLITE_HEADER:
                return "is not a SQLite database"
            return ""
        # the venue creates missing folders: the nearest existing one must be writable
        parent = path.absolute().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            return f"cannot be created ({parent} is not a writable folder)"
    except OSError as exc:
        return f"cannot be opened ({exc.strerror})"
    return ""


def _check_timeframe(value: str | None) -> str | None:
    from trading_strategy.core.timeframe import Timeframe

    if value is not None:
        try:
            Timeframe.parse(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
    return value


class StrategyEntry(_Model):
    name: str
    strategy: str = Field(min_length=1)
    symbol: str = Field(min_length=1)
    timeframe: str | None = None
    capital: Money = Field(ge=MIN_CAPITAL, le=MAX_CAPITAL)
    size: str = "all-in"
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "strategy name")

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, value: str | None) -> str | None:
        return _check_timeframe(value)

    @field_validator("size")
    @classmethod
    def _size(cls, value: str) -> str:
        from trading_strategy.kernel.sizing import SizeSpec

        try:
            SizeSpec.parse(value)
        except ConfigError as exc:
            raise ValueError(str(exc).replace("--size ", "")) from None
        return value


class PortfolioConfig(_Model):
    session: SessionSection = SessionSection()
    venue: VenueSection = VenueSection()
    strategies: list[StrategyEntry] = Field(min_length=1)
    risk: RiskSettings = RiskSettings()
    #: live data; ``None``: the session replays history
    data: DataSection | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> PortfolioConfig:
        names = [s.name for s in self.strategies]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"strategy names must be unique, repeated: {', '.join(dupes)}")
        long = [s.name for s in self.strategies
                if len(s.name) + len(self.session.name) > MAX_NAMES_IN_ORDER_ID]
        if long:
            raise ValueError(
                f"session name {self.session.name!r} and strategy name {long[0]!r} are "
                f"{len(self.session.name) + len(long[0])} characters together, at most "
                f"{MAX_NAMES_IN_ORDER_ID}: both go into every order id, which is stored in "
                f"{ORDER_ID_LENGTH} characters")
        if self.data is not None:
            self._check_data(self.data)
        return self

    def _check_data(self, data: DataSection) -> None:
        symbols = {s.symbol for s in self.strategies}
        stray = sorted(set(data.instruments) - symbols)
        if stray:
            raise ValueError(f"data.instruments: no strategy trades {stray[0]!r} "
                             f"(strategies trade {', '.join(sorted(symbols))})")
        for entry in self.strategies:
            feed = data.settings_for(entry.symbol)
            where = (f"data.instruments.{entry.symbol}" if entry.symbol in data.instruments
                     else "data.default")
            if not feed.providers:
                raise ValueError(f"{where}.providers: list the providers of {entry.symbol}, "
                                 f"highest priority first (e.g. [\"binance\"])")
            timeframe = feed.timeframe or entry.timeframe
            if timeframe is None:
                raise ValueError(f"{where}.timeframe: set the bars {entry.symbol} is "
                                 "traded on (e.g. \"1m\")")
            if entry.timeframe is not None and feed.timeframe is not None and \
                    entry.timeframe != feed.timeframe:
                raise ValueError(f"{where}.timeframe: {feed.timeframe!r} differs from "
                                 f"strategy {entry.name}'s {entry.timeframe!r}")


def with_speed(config: PortfolioConfig, speed: float) -> PortfolioConfig:
    """``config`` replayed at ``speed`` (``run --speed``), checked like the file's value."""
    try:
        session = SessionSection.model_validate({**config.session.model_dump(),
                                                 "speed": speed})
    except ValidationError as exc:
        problems = "; ".join(describe_errors(exc)).replace("speed: ", "--speed: ", 1)
        raise ConfigError(problems) from None
    return config.model_copy(update={"session": session})


def parse_portfolio(raw: dict[str, Any], *, source: str = "portfolio") -> PortfolioConfig:
    """Validate a portfolio mapping (no environment: see ``config.load_portfolio``)."""
    try:
        return PortfolioConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: " + "; ".join(describe_errors(exc))) from None


def describe_errors(exc: ValidationError) -> list[str]:
    """One ``key: problem`` per error, naming the value (portfolio files hold no secrets)."""
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "value_error" and _FIELD_PREFIX.match(message):
            # a model check: each line is "field: problem" relative to ``loc``
            for line in message.split("\n"):
                field, _, text = line.partition(": ")
                problems.append(f"{'.'.join([*loc, *field.split('.')])}: {text}")
            continue
        if "got " not in message and not isinstance(err["input"], dict | list):
            message = f"{message}, got {err['input']!r}"
        problems.append(f"{'.'.join(loc) or 'portfolio'}: {message}")
    return problems
