"""Coverage: contiguous ranges and gaps; daily data ignores weekends."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from trading_strategy.core.instrument import Calendar
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.storage import Store
from trading_strategy.storage.coverage import compute_coverage


def _ts(kit: SimpleNamespace, *times: str) -> np.ndarray:
    return np.array([kit.ns(t) for t in times], dtype=np.int64)


def test_daily_weekends_are_not_gaps_but_a_missing_weekday_is(kit: SimpleNamespace) -> None:
    # Thu 4, Fri 5, Mon 8, Tue 9, (Wed 10 missing), Thu 11 January 2024
    ts = _ts(kit, "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09", "2024-01-11")
    cov = compute_coverage("X", Timeframe.parse("1d"), Calendar.XNYS, ts)
    assert [(r.start_ns, r.end_ns, r.bars) for r in cov.ranges] == [
        (kit.ns("2024-01-04"), kit.ns("2024-01-09"), 4), (kit.ns("2024-01-11"),
                                                          kit.ns("2024-01-11"), 1)]
    assert [(g.after_ns, g.before_ns, g.missing) for g in cov.gaps] == [
        (kit.ns("2024-01-09"), kit.ns("2024-01-11"), 1)]


def test_daily_24_7_counts_weekends(kit: SimpleNamespace) -> None:
    ts = _ts(kit, "2024-01-05", "2024-01-08")  # Friday -> Monday
    cov = compute_coverage("BTC", Timeframe.parse("1d"), Calendar.ALWAYS, ts)
    assert [(g.missing) for g in cov.gaps] == [2]


def test_intraday_gap_counts_missing_bars(kit: SimpleNamespace) -> None:
    ts = _ts(kit, "2024-01-04T10:00:00Z", "2024-01-04T10:05:00Z", "2024-01-04T10:10:00Z",
             "2024-01-04T10:30:00Z", "2024-01-04T10:37:00Z")
    cov = compute_coverage("X", Timeframe.parse("5m"), Calendar.XNYS, ts)
    assert [r.bars for r in cov.ranges] == [3, 1, 1]
    assert [g.missing for g in cov.gaps] == [3, 1]  # 10:15..10:25; an off-grid 7 minutes
    assert not cov.complete and cov.bars == 5


def test_empty_and_single(kit: SimpleNamespace) -> None:
    frame = Timeframe.parse("1h")
    assert compute_coverage("X", frame, Calendar.FX, np.empty(0, dtype=np.int64)).ranges == ()
    one = compute_coverage("X", frame, Calendar.FX, _ts(kit, "2024-01-04T10:00:00Z"))
    assert one.complete and len(one.ranges) == 1


def test_coverage_from_the_store(kit: SimpleNamespace, store: Store) -> None:
    rows = [(day, 1.0, 1.0, 1.0, 1.0, 1.0) for day in
            ("2024-01-04", "2024-01-05", "2024-01-08", "2024-01-10")]
    bars = kit.bars_from_rows(rows, timeframe="1d")
    store.bars.write_bars(bars.instrument, "1d", bars)
    cov = store.bars.coverage("TEST", "1d")
    assert cov.bars == 4 and [g.missing for g in cov.gaps] == [1]
    assert [r.bars for r in cov.ranges] == [3, 1]
