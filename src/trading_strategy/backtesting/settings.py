"""Backtest settings: capital, costs, fill model, sizing and annualisation."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from trading_strategy.backtesting.costs import (
    CommissionModel,
    NoSlippage,
    PercentCommission,
    SlippageModel,
)
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Instrument


class SizeKind(StrEnum):
    FIXED = "fixed"
    PERCENT = "percent"
    ALL_IN = "all_in"


@dataclass(frozen=True, slots=True)
class SizeSpec:
    """Default order size when a strategy passes no quantity.

    ``fixed``: that many units, a whole number of the instrument's lots (``check_lots``);
    ``percent``: that share of equity at the decision bar's close, rounded down to whole
    lots; ``all_in``: whole lots from all available cash *at the fill price*, after costs.
    A bare number is always a quantity, never a fraction of equity: half of equity is
    written ``50%``.
    """

    kind: SizeKind
    value: Decimal = Decimal(0)

    @classmethod
    def parse(cls, text: str) -> SizeSpec:
        raw = text.strip().lower()
        if raw in ("all-in", "all_in", "allin"):
            return cls(SizeKind.ALL_IN)
        match = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*(%?)", raw)
        if not match:
            raise ConfigError(
                f"invalid --size {text!r}: use a quantity (1, 0.5), a percent of equity (25%) "
                "or all-in"
            )
        try:
            value = Decimal(match.group(1))
        except InvalidOperation:  # pragma: no cover - the regex admits only numbers
            raise ConfigError(f"invalid --size {text!r}") from None
        if match.group(2):
            if not 0 < value <= 100:
                raise ConfigError(f"invalid --size {text!r}: a percent must be in (0, 100]")
            return cls(SizeKind.PERCENT, value / 100)
        if value <= 0:
            raise ConfigError(f"invalid --size {text!r}: a quantity must be > 0")
        return cls(SizeKind.FIXED, value)

    def check_lots(self, instrument: Instrument, what: str = "--size") -> None:
        """Refuse a fixed quantity that is not a whole number of ``instrument``'s lots
        (``what`` names the setting in the message).

        Rounding it would trade silently less than asked: 2.5 shares in lots of 1 would
        become 2 and 0.5 would become 0, every order then refused as ``zero_size``.
        """
        if self.kind is not SizeKind.FIXED:
            return
        lot = instrument.lot_size
        if self.value % lot != 0:
            lots = self.value / lot
            nearest = ", ".join(str((n * lot).normalize())
                                for n in sorted({max(int(lots), 1), int(lots) + 1}))
            raise ConfigError(
                f"{what} {self.value.normalize()} is not a whole number of lots: "
                f"{instrument.symbol} trades in lots of {lot.normalize()}; use a multiple "
                f"(e.g. {nearest}) or a share of equity such as {_pct_hint(self.value)}")

    def __str__(self) -> str:
        if self.kind is SizeKind.ALL_IN:
            return "all-in"
        if self.kind is SizeKind.PERCENT:
            return f"{(self.value * 100).normalize()}%"
        return str(self.value.normalize())


def _pct_hint(value: Decimal) -> str:
    # 0.5 was probably meant as half of equity; anything else gets a neutral example
    return f"{(value * 100).normalize():f}%" if value < 1 else "25%"


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
