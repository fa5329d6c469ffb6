"""``portfolio.toml``: the strategies of a paper or live session, their capital and the venue.

::

    [session]
    name = "demo"              # letters, digits, '_', '.'; names the journal and checkpoints
    speed = 0                  # replay speed: 0 = as fast as possible, 60 = a minute per second
    start = "2010-01-01"       # optional replay window
    metrics_port = 0           # serve /metrics on this port (0 = off)

    [venue]
    kind = "paper"             # paper (in-process) | paper-http (trading-strategy paper-venue)
    url = "http://127.0.0.1:8765"
    commission = 0.001         # paper fills use the backtester's models
    slippage_bps = 2

    [[strategies]]
    name = "sma_goog"          # unique; the strategy's id in orders, logs and metrics
    strategy = "sma_crossover"
    symbol = "GOOG"            # bundled sample, stored symbol or a CSV/Parquet path
    capital = 50000
    params = { fast = 10, slow = 30 }

    [risk]                     # the same keys as the risk settings (see `config show`)
    max_drawdown_pct = 20
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from trading_strategy.core.errors import ConfigError
from trading_strategy.risk.settings import RiskSettings

_NAME = r"^[A-Za-z0-9_.]+$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionSection(_Model):
    name: str = Field("paper", pattern=_NAME)
    speed: float = Field(0.0, ge=0)
    start: str | None = None
    end: str | None = None
    metrics_port: int = Field(0, ge=0, le=65535)


class VenueSection(_Model):
    kind: Literal["paper", "paper-http"] = "paper"
    url: str = "http://127.0.0.1:8765"
    commission: Decimal = Field(Decimal(0), ge=0, lt=1)
    slippage_bps: Decimal = Field(Decimal(0), ge=0)
    latency_ms: int = Field(0, ge=0)
    db: str | None = None


class StrategyEntry(_Model):
    name: str = Field(pattern=_NAME)
    strategy: str
    symbol: str
    timeframe: str | None = None
    capital: Decimal = Field(gt=0)
    size: str = "all-in"
    params: dict[str, Any] = Field(default_factory=dict)


class PortfolioConfig(_Model):
    session: SessionSection = SessionSection()
    venue: VenueSection = VenueSection()
    strategies: list[StrategyEntry] = Field(min_length=1)
    risk: RiskSettings = RiskSettings()

    @model_validator(mode="after")
    def _unique_names(self) -> PortfolioConfig:
        names = [s.name for s in self.strategies]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"strategy names must be unique, repeated: {', '.join(dupes)}")
        return self


def load_portfolio(path: Path) -> PortfolioConfig:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such portfolio file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_portfolio(raw, source=str(path))


def parse_portfolio(raw: dict[str, Any], *, source: str = "portfolio") -> PortfolioConfig:
    try:
        return PortfolioConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "portfolio"
            problems.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None
