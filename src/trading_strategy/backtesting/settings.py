"""Backtest settings: capital, costs, fill model, sizing and annualisation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from trading_strategy.core.errors import ConfigError
from trading_strategy.kernel.costs import (
    CommissionModel,
    NoSlippage,
    PercentCommission,
    SlippageModel,
)
from trading_strategy.kernel.sizing import SizeKind, SizeSpec


class IndicatorMode(StrEnum):
    VECTORIZED = "vectorized"
    INCREMENTAL = "incremental"


@dataclass(frozen=True, slots=True)
class BacktestSettings:
    initial_cash: Decimal = Decimal(10_000)
    commission: CommissionModel = field(default_factory=lambda: PercentCommission(Decimal(0)))
    slippage: SlippageModel = field(default_factory=NoSlippage)
    size: SizeSpec = field(default_factory=lambda: SizeSpec(SizeKind.ALL_IN))
    #: an order decided on bar t is eligible from bar t + latency_bars
    latency_bars: int = 1
    #: intraday alternative: decision at bar close + this delay decides the eligible bar
    latency_ms: int | None = None
    #: at most this fraction of a bar's volume fills; the rest waits for the next bar
    volume_participation: Decimal | None = None
    #: None derives it from the timeframe and the instrument's calendar (252 or 365 days)
    periods_per_year: float | None = None
    risk_free_rate: float = 0.0
    indicator_mode: IndicatorMode = IndicatorMode.VECTORIZED
    #: the project's rule: no strategy is judged on less than this much history
    min_years: float = 2.0

    def __post_init__(self) -> None:
        if self.initial_cash <= 0:
            raise ConfigError(f"initial cash must be > 0, got {self.initial_cash}")
        if self.latency_bars < 1:
            raise ConfigError("latency must be at least 1 bar: an order decided on a bar's "
                              "close cannot fill within that bar")
        if self.latency_ms is not None and self.latency_ms < 0:
            raise ConfigError(f"latency in ms must be >= 0, got {self.latency_ms}")
        vp = self.volume_participation
        if vp is not None and not 0 < vp <= 1:
            raise ConfigError(f"volume participation must be in (0, 1], got {vp}")
        ppy = self.periods_per_year
        if ppy is not None and not (math.isfinite(ppy) and ppy > 0):
            raise ConfigError(f"periods per year must be a number > 0, got {ppy}")
        if not math.isfinite(self.risk_free_rate) or self.risk_free_rate <= -1:
            raise ConfigError(f"risk-free rate must be a number > -1 (0.02 = 2%), "
                              f"got {self.risk_free_rate}")
        if not self.initial_cash.is_finite():
            raise ConfigError(f"initial cash must be a finite number, got {self.initial_cash}")
