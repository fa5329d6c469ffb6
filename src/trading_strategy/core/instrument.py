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
from trading_strategy.core.timeframe import Timeframe


class AssetClass(StrEnum):
    EQUITY = "equity"
    FX = "fx"
    CRYPTO = "crypto"
    FUTURE = "future"


class Calendar(StrEnum):
    """Trading calendar: decides day boundaries and annualisation (bars per year).

    ======== ============ ============== =========================================
    calendar trading days hours a day    why
    ======== ============ ============== =========================================
    XNYS     252          6.5 (session)  NYSE sessions 09:30-16:00 New York, ~9 holidays
    FX       260          24 (24/5)      Sunday 22:00 to Friday 22:00 UTC: 52 weeks × 5 days
    24/7     365          24             crypto never closes
    ======== ============ ============== =========================================

    FX counts 260 days, not 252: it has no exchange holidays, and its hourly bars run
    through midnight, so a year of 1h bars is 260 × 24 = 6,240 (the bundled EURUSD_1h
    sample has 6,206 bars per calendar year: 5,000 bars over 294 days).
    """

    XNYS = "XNYS"  # US equities: weekdays, session dates, America/New_York
    FX = "FX"  # 24/5
    ALWAYS = "24/7"  # crypto

    @property
    def trading_days_per_year(self) -> int:
        return _TRADING_DAYS[self]

    @property
    def session_hours(self) -> float:
        """Trading hours in one day (6.5 for an NYSE session, 24 for FX and crypto)."""
        return _SESSION_HOURS[self]

    @property
    def continuous(self) -> bool:
        """True when bars run on through midnight instead of restarting at a session open."""
        return self is not Calendar.XNYS

    @property
    def periods_per_year_daily(self) -> int:
        return self.trading_days_per_year

    def periods_per_year(self, timeframe: Timeframe) -> float:
        """Bars of ``timeframe`` in a year of this calendar (see ``Timeframe.bars_per_year``)."""
        return timeframe.bars_per_year(trading_days=self.trading_days_per_year,
                                       session_hours=self.session_hours,
                                       continuous=self.continuous)

    def annualisation_rule(self, timeframe: Timeframe) -> str:
        """How ``periods_per_year(timeframe)`` is made, in words for reports."""
        days = self.trading_days_per_year
        if timeframe.is_monthly:
            how = f"12 months / {timeframe.count}" if timeframe.count > 1 else "12 months"
        elif timeframe.unit == "w":
            how = f"52 weeks / {timeframe.count}" if timeframe.count > 1 else "52 weeks"
        elif not timeframe.is_intraday:
            how = f"{days} trading days"
            if timeframe.count > 1:
                how += f" / {timeframe.count}"
        elif self.continuous:
            how = f"{_hours(self.session_hours)} × {days} days"
        else:
            per_day = round(self.periods_per_year(timeframe) / days)
            session_ns = self.session_hours * 3_600_000_000_000
            last = ", last bar partial" if per_day * timeframe.nanoseconds > session_ns else ""
            how = f"{days} days × {per_day} bars ({_hours(self.session_hours)} session{last})"
        return f"{self.value} {how}, {timeframe} bars"


_TRADING_DAYS = {Calendar.XNYS: 252, Calendar.FX: 260, Calendar.ALWAYS: 365}
_SESSION_HOURS = {Calendar.XNYS: 6.5, Calendar.FX: 24.0, Calendar.ALWAYS: 24.0}


def _hours(value: float) -> str:
    return f"{value:g}h"


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
