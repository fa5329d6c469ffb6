"""Commission and slippage models (pure).

Models are declared with human units (rates, money, basis points) and *bound* to an
instrument, which turns them into integer arithmetic on ticks, lots and money units
(tick × lot), so costs are exact and rounding is explicit:

* commission is rounded half-up to the money unit;
* slippage moves the fill price against the trader and is rounded *away* from the reference
  price to a whole tick (conservative: any non-zero slippage costs at least one tick).

Commission models
    ``PercentCommission(rate)``  rate × traded notional, per fill (0.001 = 0.1 %).
    ``PerUnitCommission(per_unit, minimum)``  per share/contract, at least ``minimum`` per fill.
    ``FixedCommission(per_order)``  a flat fee on the first fill of each order.

Slippage models (applied to market and stop fills; limit fills execute at their price)
    ``NoSlippage()``
    ``FixedBpsSlippage(bps)``  reference price × bps / 10 000.
    ``RangeSlippage(fraction)``  fraction × (high − low) of the fill bar: wider bars, worse fills.
    ``AtrSlippage(multiple, period)``  multiple × ATR(period) as of the previous bar's close.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Instrument
from trading_strategy.strategies import indicators

#: (lots, price_ticks, first_fill_of_order) -> commission in money units
CommissionFn = Callable[[int, int, bool], int]
#: (side_sign, reference_ticks, bar_index) -> slippage in ticks (>= 0)
SlippageFn = Callable[[int, int, int], int]


def _ratio(value: Decimal) -> tuple[int, int]:
    num, den = value.as_integer_ratio()
    return num, den


def _round_half_up(num: int, den: int) -> int:
    return (num * 2 + den) // (2 * den)


def _require_non_negative(name: str, value: Decimal) -> Decimal:
    try:
        value = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not value.is_finite() or value < 0:
        raise ConfigError(f"{name} must be a non-negative number, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class PercentCommission:
    rate: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", _require_non_negative("commission rate", self.rate))
        if self.rate >= 1:
            raise ConfigError(f"commission rate is a fraction of notional (0.001 = 0.1%), "
                              f"got {self.rate}")

    def describe(self) -> dict[str, object]:
        return {"model": "percent", "rate": float(self.rate)}

    def bind(self, instrument: Instrument) -> CommissionFn:
        # notional in money units is exactly lots * ticks
        num, den = _ratio(self.rate)

        def commission(lots: int, ticks: int, first: bool) -> int:
            return (lots * ticks * num * 2 + den) // (2 * den)

        return commission


@dataclass(frozen=True, slots=True)
class PerUnitCommission:
    per_unit: Decimal
    minimum: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_unit", _require_non_negative("per-unit commission",
                                                                   self.per_unit))
        object.__setattr__(self, "minimum", _require_non_negative("minimum commission",
                                                                  self.minimum))

    def describe(self) -> dict[str, object]:
        return {"model": "per_unit", "per_unit": float(self.per_unit),
                "minimum": float(self.minimum)}

    def bind(self, instrument: Instrument) -> CommissionFn:
        # per-unit money / money unit = per_unit * lot / (tick * lot) = per_unit / tick per lot
        num, den = _ratio(self.per_unit / instrument.tick_size)
        mnum, mden = _ratio(self.minimum / instrument.money_unit)
        minimum = _round_half_up(mnum, mden)

        def commission(lots: int, ticks: int, first: bool) -> int:
            return max(_round_half_up(lots * num, den), minimum)

        return commission


@dataclass(frozen=True, slots=True)
class FixedCommission:
    per_order: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_order", _require_non_negative("fixed commission",
                                                                    self.per_order))

    def describe(self) -> dict[str, object]:
        return {"model": "fixed", "per_order": float(self.per_order)}

    def bind(self, instrument: Instrument) -> CommissionFn:
        num, den = _ratio(self.per_order / instrument.money_unit)
        fee = _round_half_up(num, den)

        def commission(lots: int, ticks: int, first: bool) -> int:
            return fee if first else 0

        return commission


CommissionModel = PercentCommission | PerUnitCommission | FixedCommission


@dataclass(frozen=True, slots=True)
class NoSlippage:
    def describe(self) -> dict[str, object]:
        return {"model": "none"}

    def bind(self, instrument: Instrument, bars: BarSeries) -> SlippageFn:
        return lambda sign, ref, i: 0


@dataclass(frozen=True, slots=True)
class FixedBpsSlippage:
    bps: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "bps", _require_non_negative("slippage bps", self.bps))

    def describe(self) -> dict[str, object]:
        return {"model": "fixed_bps", "bps": float(self.bps)}

    def bind(self, instrument: Instrument, bars: BarSeries) -> SlippageFn:
        num, den = _ratio(self.bps / 10_000)

        def slippage(sign: int, ref: int, i: int) -> int:
            return -((-ref * num) // den)  # ceil: away from the reference price

        return slippage


@dataclass(frozen=True, slots=True)
class RangeSlippage:
    fraction: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "fraction", _require_non_negative("slippage fraction",
                                                                   self.fraction))

    def describe(self) -> dict[str, object]:
        return {"model": "range", "fraction": float(self.fraction)}

    def bind(self, instrument: Instrument, bars: BarSeries) -> SlippageFn:
        tick = float(instrument.tick_size)
        width = np.rint((bars.high - bars.low) / tick).astype(np.int64)
        num, den = _ratio(self.fraction)

        def slippage(sign: int, ref: int, i: int) -> int:
            return -((-int(width[i]) * num) // den)

        return slippage


@dataclass(frozen=True, slots=True)
class AtrSlippage:
    multiple: Decimal
    period: int = 14

    def __post_init__(self) -> None:
        object.__setattr__(self, "multiple", _require_non_negative("ATR multiple", self.multiple))
        if self.period < 1:
            raise ConfigError(f"ATR period must be >= 1, got {self.period}")

    def describe(self) -> dict[str, object]:
        return {"model": "atr", "multiple": float(self.multiple), "period": self.period}

    def bind(self, instrument: Instrument, bars: BarSeries) -> SlippageFn:
        atr = indicators.atr(bars.high, bars.low, bars.close, self.period)
        # the fill on bar i knows the ATR up to bar i-1 only
        known = np.concatenate(([np.nan], atr[:-1]))
        raw = np.nan_to_num(known, nan=0.0) * float(self.multiple) / float(instrument.tick_size)
        # round float noise away first: an ATR of exactly 7 ticks must not become 8
        ticks = np.ceil(np.round(raw, 9)).astype(np.int64)

        def slippage(sign: int, ref: int, i: int) -> int:
            return int(ticks[i])

        return slippage


SlippageModel = NoSlippage | FixedBpsSlippage | RangeSlippage | AtrSlippage
