"""Bar timeframes ('1m', '5m', '1h', '4h', '1d', '1w')."""

from __future__ import annotations

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

    def periods_per_year(self, trading_days: int) -> float:
        """Bars per year given trading days per year (252 equities, 365 for 24/7 markets).

        Intraday bars of a 24/7 market count every hour of the day; for session markets
        intraday figures assume 6.5 trading hours a day.
        """
        day = _UNIT_NS["d"]
        if self.nanoseconds >= day:
            return trading_days * day / self.nanoseconds
        hours_per_day = 24.0 if trading_days >= 365 else 6.5
        return trading_days * hours_per_day * 3600 * 1_000_000_000 / self.nanoseconds
