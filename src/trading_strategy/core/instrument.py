"""Instruments and their precision.

Prices are held as integer multiples of ``tick_size`` ("ticks") and quantities as integer
multiples of ``lot_size`` ("lots") wherever money is computed, so cash and P&L are exact.
Money is then an integer number of ``tick_size * lot_size`` units (``money_unit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from trading_strategy.core.errors import ConfigError


class AssetClass(StrEnum):
    EQUITY = "equity"
    FX = "fx"
    CRYPTO = "crypto"
    FUTURE = "future"


class Calendar(StrEnum):
    """Trading calendar: decides day boundaries and annualisation (252 vs 365)."""

    XNYS = "XNYS"  # US equities: weekdays, session dates, America/New_York
    FX = "FX"  # 24/5
    ALWAYS = "24/7"  # crypto

    @property
    def periods_per_year_daily(self) -> int:
        return 252 if self in (Calendar.XNYS, Calendar.FX) else 365


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    tick_size: Decimal = Decimal("0.01")
    lot_size: Decimal = Decimal("1")
    venue: str = "SIM"
    asset_class: AssetClass = AssetClass.EQUITY
    currency: str = "USD"
    calendar: Calendar = Calendar.XNYS

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ConfigError("instrument symbol must not be empty")
        for name in ("tick_size", "lot_size"):
            value = getattr(self, name)
            if not isinstance(value, Decimal):
                value = Decimal(str(value))
                object.__setattr__(self, name, value)
            if not value.is_finite() or value <= 0:
                raise ConfigError(f"instrument {self.symbol}: {name} must be > 0, got {value}")

    # --- precision -------------------------------------------------------------------
    @property
    def money_unit(self) -> Decimal:
        """Value of one integer money unit: one tick times one lot."""
        return self.tick_size * self.lot_size

    @property
    def price_decimals(self) -> int:
        return max(0, -int(self.tick_size.normalize().as_tuple().exponent))

    def to_ticks(self, price: float | Decimal, rounding: str = ROUND_HALF_EVEN) -> int:
        """Price → integer ticks, rounded per ``rounding`` (a ``decimal`` rounding mode)."""
        if isinstance(price, float):
            if not math.isfinite(price):
                raise ValueError(f"price must be finite, got {price}")
            price = Decimal(repr(price))
        return int((price / self.tick_size).to_integral_value(rounding=rounding))

    def to_lots(self, quantity: float | Decimal, rounding: str = ROUND_FLOOR) -> int:
        """Quantity → integer lots, rounded toward zero by default (never over-size)."""
        if isinstance(quantity, float):
            if not math.isfinite(quantity):
                raise ValueError(f"quantity must be finite, got {quantity}")
            quantity = Decimal(repr(quantity))
        lots = quantity / self.lot_size
        if lots < 0 and rounding == ROUND_FLOOR:
            rounding = ROUND_CEILING
        return int(lots.to_integral_value(rounding=rounding))

    def price(self, ticks: int) -> Decimal:
        return ticks * self.tick_size

    def quantity(self, lots: int) -> Decimal:
        return lots * self.lot_size

    def money(self, units: int) -> Decimal:
        return units * self.money_unit

    def round_price(self, price: float | Decimal) -> Decimal:
        return self.price(self.to_ticks(price))

    def round_quantity(self, quantity: float | Decimal) -> Decimal:
        return self.quantity(self.to_lots(quantity))


def infer_tick_size(decimals: int) -> Decimal:
    """The tick implied by the number of decimals seen in a data file (capped at 8)."""
    return Decimal(1).scaleb(-min(max(decimals, 0), 8))
