"""Monthly bars in files: recognising them and checking a ``1mo`` timeframe.

A month has no fixed length, so the median-gap rule of :mod:`.validation` cannot see
monthly bars. A series is monthly when each bar falls in a later calendar month than the
one before and at least 20 days after it per month apart: bars keyed on the first of the
month, its last day or its last trading day all pass; daily and weekly bars never do (two
of them share a month).
"""

from __future__ import annotations

import numpy as np

from trading_strategy.core.bars import IntArray
from trading_strategy.core.timeframe import Timeframe

_DAY_NS = 86_400 * 1_000_000_000
_MIN_DAYS_PER_MONTH = 20


def month_index(ts: IntArray) -> IntArray:
    """Months since 1970-01 (UTC) of each timestamp."""
    days = (ts // _DAY_NS).astype("datetime64[D]")
    result: IntArray = days.astype("datetime64[M]").astype(np.int64)
    return result


def _steps(ts: IntArray) -> IntArray | None:
    """Months between consecutive bars, or ``None`` when the bars are not monthly."""
    if len(ts) < 2:
        return None
    gaps = np.diff(ts)
    # steps are at least 1 when monthly: a gap under the minimum decides without dates
    if gaps.min() < _MIN_DAYS_PER_MONTH * _DAY_NS:
        return None
    steps = np.diff(month_index(ts))
    if np.any(steps < 1) or np.any(gaps < steps * _MIN_DAYS_PER_MONTH * _DAY_NS):
        return None
    return steps


def months_apart(ts: IntArray) -> int | None:
    """The (lower median) number of calendar months between bars, if they are monthly."""
    steps = _steps(ts)
    if steps is None:
        return None
    middle = (len(steps) - 1) // 2
    return int(np.partition(steps, middle)[middle])


def monthly_mismatch(ts: IntArray, timeframe: Timeframe) -> str | None:
    """Why a months ``timeframe`` does not fit sorted ``ts``, or ``None`` if it does.

    It fits when the median or the smallest step is ``timeframe.months`` (sparse data).
    """
    if len(ts) < 2:
        return None
    steps = _steps(ts)
    if steps is None:
        return (f"timeframe {timeframe} does not match the data: monthly bars need one bar "
                "per calendar month (two bars share a month, or are less than 20 days apart)")
    found = months_apart(ts)
    if found == timeframe.months or int(steps.min()) == timeframe.months:
        return None
    return (f"timeframe {timeframe} does not match the data: its bars are {found} months "
            f"apart (median); pass timeframe '{found}mo' or leave it out to infer it")
