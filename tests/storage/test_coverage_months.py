"""Coverage of monthly bars: a 28-day February is no gap, a skipped month is one."""

from __future__ import annotations

import numpy as np

from trading_strategy.core.instrument import Calendar
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.storage.coverage import compute_coverage


def _ns(*days: str) -> np.ndarray:
    return np.array(days, dtype="datetime64[D]").astype("datetime64[ns]").astype(np.int64)


def test_month_end_bars_have_no_gaps_whatever_the_month_length() -> None:
    ts = _ns("2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31")
    cov = compute_coverage("BTCUSD", Timeframe.parse("1mo"), Calendar.ALWAYS, ts)
    assert cov.complete and len(cov.ranges) == 1


def test_a_skipped_month_is_one_missing_bar() -> None:
    ts = _ns("2024-01-31", "2024-02-29", "2024-04-30")
    cov = compute_coverage("BTCUSD", Timeframe.parse("1mo"), Calendar.ALWAYS, ts)
    assert len(cov.gaps) == 1 and not cov.complete
