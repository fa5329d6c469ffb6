"""Bar timeframes ('1m', '5m', '1h', '4h', '1d', '1w')."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from trading_strategy.core.errors import ConfigError

_UNIT_NS = {
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
    "d": 86400 * 1_000_000_000,
    "w": 7 * 86400 * 1_000_000_000,
}
_PATTERN = re.compile(r"^(\d+)([smhdw])$")


@dataclass(frozen=True, slots=True)
class Timeframe:
    count: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        match = _PATTERN.match(text.strip())
        if not match or int(match.group(1)) <= 0:
            raise ConfigError(
                f"invalid timeframe {text!r}: use a number and a unit s/m/h/d/w, e.g. 1m, 1h, 1d"
            )
        return cls(int(match.group(1)), match.group(2))

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    @property
    def nanoseconds(self) -> int:
        return self.count * _UNIT_NS[self.unit]

    @property
    def is_intraday(self) -> bool:
        return self.nanoseconds < _UNIT_NS["d"]

    def bars_per_year(
        self, *, trading_days: int, session_hours: float, continuous: bool
    ) -> float:
        """Bars in a year of a market with ``trading_days`` days of ``session_hours`` each.

        * weekly bars: 52 a year whatever the calendar (a week has a bar even with a holiday);
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
        if self.unit == "w":
            return 52 / self.count
        day = _UNIT_NS["d"]
        if self.nanoseconds >= day:
            return trading_days * day / self.nanoseconds
        session_ns = session_hours * _UNIT_NS["h"]
        if continuous:
            return trading_days * session_ns / self.nanoseconds
        return float(trading_days * math.ceil(session_ns / self.nanoseconds - 1e-9))
