"""Bar timeframes ('1m', '5m', '1h', '4h', '1d', '1w', '1mo').

Seconds to weeks have a fixed length (:attr:`Timeframe.nanoseconds`). A month has none:
``1mo`` bars are keyed by the calendar month they cover (their timestamp is a date inside
it: the first of the month for resampled bars, whatever the vendor wrote for imported
ones, such as the month's last day), and :attr:`Timeframe.nanoseconds` gives the mean
Gregorian month (365.2425 / 12 days) for the few uses that only need an order of size
(sorting timeframes, a series' span in years). Annualisation counts 52 weekly and 12
monthly bars a year whatever the calendar.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from trading_strategy.core.errors import ConfigError

_DAY_NS = 86400 * 1_000_000_000
_UNIT_NS = {
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
    "d": _DAY_NS,
    "w": 7 * _DAY_NS,
    # The mean Gregorian month: 2,629,746 s. Not a bar length; see the module doc.
    "mo": 2_629_746 * 1_000_000_000,
}
_PATTERN = re.compile(r"^(\d+)(mo|[smhdw])$")


@dataclass(frozen=True, slots=True)
class Timeframe:
    count: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        match = _PATTERN.match(text.strip())
        if not match or int(match.group(1)) <= 0:
            raise ConfigError(
                f"invalid timeframe {text!r}: use a number and a unit s/m/h/d/w/mo, "
                "e.g. 1m, 1h, 1d, 1w, 1mo"
            )
        return cls(int(match.group(1)), match.group(2))

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    @property
    def is_monthly(self) -> bool:
        """Calendar months: no fixed length, bars are keyed by month (see the module doc)."""
        return self.unit == "mo"

    @property
    def months(self) -> int:
        """Calendar months per bar (0 for fixed-length timeframes)."""
        return self.count if self.unit == "mo" else 0

    @property
    def nanoseconds(self) -> int:
        """Bar length; for months the mean Gregorian month (not exact: see the module doc)."""
        return self.count * _UNIT_NS[self.unit]

    @property
    def is_intraday(self) -> bool:
        return self.nanoseconds < _DAY_NS

    def bars_per_year(
        self, *, trading_days: int, session_hours: float, continuous: bool
    ) -> float:
        """Bars in a year of a market with ``trading_days`` days of ``session_hours`` each.

        * monthly bars: 12 a year, weekly bars: 52 a year, whatever the calendar (a week
          or a month has a bar even with a holiday);
        * daily and longer bars: ``trading_days / days per bar``;
        * intraday bars of a ``continuous`` market (FX 24/5, crypto 24/7), whose bars run
          on through midnight: ``trading_days x session_hours / bar length``;
        * intraday bars of a session market (XNYS 09:30-16:00) restart at every open, so a
          session has ``ceil(session / bar)`` bars, the last one partial: 1h bars of a 6.5 h
          session are 7 a day (9:30, 10:30, ... 15:30), not 6.5.
        """
        if trading_days <= 0 or session_hours <= 0:
            raise ConfigError(f"a calendar needs trading days and hours > 0, got "
                              f"{trading_days} days of {session_hours} h")
        if self.unit == "mo":
            return 12 / self.count
        if self.unit == "w":
            return 52 / self.count
        if self.nanoseconds >= _DAY_NS:
            return trading_days * _DAY_NS / self.nanoseconds
        session_ns = session_hours * _UNIT_NS["h"]
        if continuous:
            return trading_days * session_ns / self.nanoseconds
        return float(trading_days * math.ceil(session_ns / self.nanoseconds - 1e-9))
