"""Coverage of a stored series: contiguous ranges and the gaps between them (pure numpy).

Two consecutive bars are contiguous when the second opens one timeframe after the first.
For daily bars of a market that closes at weekends (any calendar but 24/7), Saturdays and
Sundays are not expected: Friday → Monday is contiguous, and a gap is reported only when
a weekday is missing. Holidays are not known here, so they show up as one-day gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trading_strategy.core.bars import IntArray
from trading_strategy.core.instrument import Calendar
from trading_strategy.core.timeframe import Timeframe

__all__ = ["Coverage", "CoverageRange", "Gap", "compute_coverage"]

_DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class CoverageRange:
    """Contiguous bars from ``start_ns`` to ``end_ns`` (bar opens, inclusive)."""

    start_ns: int
    end_ns: int
    bars: int


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing bars between the bar opening at ``after_ns`` and the one at ``before_ns``."""

    after_ns: int
    before_ns: int
    missing: int


@dataclass(frozen=True, slots=True)
class Coverage:
    symbol: str
    timeframe: Timeframe
    bars: int
    ranges: tuple[CoverageRange, ...]
    gaps: tuple[Gap, ...]

    @property
    def complete(self) -> bool:
        return not self.gaps


def _missing_counts(ts: IntArray, timeframe: Timeframe, skip_weekends: bool) -> IntArray:
    """Bars expected but absent between each pair of consecutive bars."""
    if timeframe.is_monthly:
        # calendar months have no fixed length: count whole months between the bars
        months = (ts // _DAY_NS).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        gaps: IntArray = np.maximum(np.diff(months) // timeframe.months - 1, 0)
        return gaps
    if skip_weekends:
        days = (ts // _DAY_NS).astype("datetime64[D]")
        # Weekdays strictly between the two dates.
        missing: IntArray = np.busday_count(days[:-1] + 1, days[1:]).astype(np.int64)
        return np.maximum(missing, 0)
    step = timeframe.nanoseconds
    spacing = np.diff(ts)
    # Spacing that is not a whole number of bars still counts as (at least) one missing.
    return np.where(spacing > step, np.maximum(-(-spacing // step) - 1, 1), 0)


def compute_coverage(symbol: str, timeframe: Timeframe, calendar: Calendar, ts: IntArray
                     ) -> Coverage:
    """Ranges and gaps of sorted bar open times ``ts``."""
    if len(ts) == 0:
        return Coverage(symbol, timeframe, 0, (), ())
    daily = timeframe.unit == "d" and timeframe.count == 1
    missing = _missing_counts(ts, timeframe, daily and calendar is not Calendar.ALWAYS)
    breaks = np.flatnonzero(missing > 0)  # a gap after bar i
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(ts) - 1]))
    ranges = tuple(
        CoverageRange(int(ts[s]), int(ts[e]), int(e - s + 1))
        for s, e in zip(starts, ends, strict=True)
    )
    gaps = tuple(Gap(int(ts[i]), int(ts[i + 1]), int(missing[i])) for i in breaks)
    return Coverage(symbol, timeframe, len(ts), ranges, gaps)
