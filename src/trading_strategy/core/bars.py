"""Bars: a columnar ``BarSeries`` for history and a frozen ``Bar`` event for live streams.

A backtest never makes a Python object per bar: it indexes the numpy columns of a
``BarSeries``. Timestamps are int64 nanoseconds since the Unix epoch, UTC, and mark the
*open* of each bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from trading_strategy.core.instrument import Instrument
from trading_strategy.core.timeframe import Timeframe

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1000
    )


def datetime_to_ns(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def format_ts(ns: int, timeframe: Timeframe | None = None) -> str:
    """ISO-8601 UTC; daily and slower bars as a plain date."""
    moment = ns_to_datetime(ns)
    if timeframe is not None and not timeframe.is_intraday:
        return moment.date().isoformat()
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar as an immutable event (live streams and the live strategy context)."""

    instrument: str
    ts_event: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True, eq=False)
class BarSeries:
    """Validated, time-ordered OHLCV columns of one instrument at one timeframe."""

    instrument: Instrument
    timeframe: Timeframe
    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name} has {len(getattr(self, name))} rows, ts has {n}")

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def start(self) -> int:
        return int(self.ts[0])

    @property
    def end(self) -> int:
        return int(self.ts[-1])

    def between(self, start_ns: int | None = None, end_ns: int | None = None) -> BarSeries:
        """Bars with ``start_ns <= ts <= end_ns`` (either bound optional)."""
        lo = 0 if start_ns is None else int(np.searchsorted(self.ts, start_ns, side="left"))
        hi = len(self) if end_ns is None else int(np.searchsorted(self.ts, end_ns, side="right"))
        return BarSeries(
            self.instrument,
            self.timeframe,
            self.ts[lo:hi],
            self.open[lo:hi],
            self.high[lo:hi],
            self.low[lo:hi],
            self.close[lo:hi],
            self.volume[lo:hi],
        )

    def years(self) -> float:
        """Calendar span covered, first bar open to last bar close, in years."""
        if len(self) == 0:
            return 0.0
        span = self.end - self.start + self.timeframe.nanoseconds
        return span / (365.25 * 86400 * 1_000_000_000)
