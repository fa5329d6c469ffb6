"""Resampling in SQL on both engines, against hand-computed buckets."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import ConfigError
from trading_strategy.storage import Store

# 1m bars from 00:58 to 02:01 with a hole at 01:30..01:31: buckets 00:00 (partial),
# 01:00 and 02:00 (partial).
_MINUTES = [
    ("2024-03-04T00:58:00Z", 10.00, 10.50, 9.90, 10.20, 1),
    ("2024-03-04T00:59:00Z", 10.20, 10.30, 10.00, 10.10, 2),
    ("2024-03-04T01:00:00Z", 10.10, 10.40, 10.05, 10.30, 3),
    ("2024-03-04T01:29:00Z", 10.30, 11.00, 10.20, 10.90, 4),
    ("2024-03-04T01:32:00Z", 10.90, 10.95, 9.50, 9.60, 5),
    ("2024-03-04T01:59:00Z", 9.60, 9.80, 9.55, 9.70, 6),
    ("2024-03-04T02:00:00Z", 9.70, 9.75, 9.65, 9.72, 7),
    ("2024-03-04T02:01:00Z", 9.72, 9.90, 9.70, 9.85, 8.5),
]


def _rows(s: BarSeries) -> list[tuple[float, ...]]:
    return list(zip(s.ts.tolist(), s.open.tolist(), s.high.tolist(), s.low.tolist(),
                    s.close.tolist(), s.volume.tolist(), strict=True))


def test_minutes_to_hours(kit: SimpleNamespace, store: Store) -> None:
    bars = kit.bars_from_rows(_MINUTES, timeframe="1m")
    store.bars.write_bars(bars.instrument, "1m", bars)
    hours = store.bars.resample("TEST", "1m", "1h")
    assert str(hours.timeframe) == "1h"
    assert _rows(hours) == [
        (kit.ns("2024-03-04T00:00:00Z"), 10.00, 10.50, 9.90, 10.10, 3.0),
        (kit.ns("2024-03-04T01:00:00Z"), 10.10, 11.00, 9.50, 9.70, 18.0),
        (kit.ns("2024-03-04T02:00:00Z"), 9.70, 9.90, 9.65, 9.85, 15.5),
    ]


def test_range_selects_source_bars(kit: SimpleNamespace, store: Store) -> None:
    bars = kit.bars_from_rows(_MINUTES, timeframe="1m")
    store.bars.write_bars(bars.instrument, "1m", bars)
    part = store.bars.resample("TEST", "1m", "30m", start=kit.ns("2024-03-04T01:00:00Z"),
                               end=kit.ns("2024-03-04T01:59:00Z"))
    assert _rows(part) == [
        (kit.ns("2024-03-04T01:00:00Z"), 10.10, 11.00, 10.05, 10.90, 7.0),
        (kit.ns("2024-03-04T01:30:00Z"), 10.90, 10.95, 9.50, 9.70, 11.0),
    ]


def test_days_align_to_utc_midnight_and_weeks_to_monday(kit: SimpleNamespace,
                                                        store: Store) -> None:
    rows = [  # Sunday 2024-03-03 .. Tuesday 2024-03-05, hourly
        ("2024-03-03T22:00:00Z", 5.0, 6.0, 4.0, 5.5, 10),
        ("2024-03-03T23:00:00Z", 5.5, 7.0, 5.0, 6.5, 20),
        ("2024-03-04T00:00:00Z", 6.5, 6.6, 3.0, 4.0, 30),
        ("2024-03-05T13:00:00Z", 4.0, 4.5, 3.5, 4.2, 40),
    ]
    bars = kit.bars_from_rows(rows, timeframe="1h")
    store.bars.write_bars(bars.instrument, "1h", bars)
    days = store.bars.resample("TEST", "1h", "1d")
    assert _rows(days) == [
        (kit.ns("2024-03-03T00:00:00Z"), 5.0, 7.0, 4.0, 6.5, 30.0),
        (kit.ns("2024-03-04T00:00:00Z"), 6.5, 6.6, 3.0, 4.0, 30.0),
        (kit.ns("2024-03-05T00:00:00Z"), 4.0, 4.5, 3.5, 4.2, 40.0),
    ]
    weeks = store.bars.resample("TEST", "1h", "1w")
    assert _rows(weeks) == [
        (kit.ns("2024-02-26T00:00:00Z"), 5.0, 7.0, 4.0, 6.5, 30.0),  # Monday before
        (kit.ns("2024-03-04T00:00:00Z"), 6.5, 6.6, 3.0, 4.2, 70.0),
    ]


def test_bars_before_1970_land_in_the_right_bucket(kit: SimpleNamespace, store: Store) -> None:
    rows = [("1969-12-31T22:30:00Z", 1.0, 2.0, 0.5, 1.5, 1),
            ("1969-12-31T23:30:00Z", 1.5, 3.0, 1.0, 2.5, 1),
            ("1970-01-01T00:30:00Z", 2.5, 2.6, 2.4, 2.45, 1)]
    bars = kit.bars_from_rows(rows, timeframe="30m")
    store.bars.write_bars(bars.instrument, "30m", bars)
    hours = store.bars.resample("TEST", "30m", "2h")
    assert [t for t, *_ in _rows(hours)] == [kit.ns("1969-12-31T22:00:00Z"),
                                             kit.ns("1970-01-01T00:00:00Z")]


def test_target_must_be_a_larger_multiple(kit: SimpleNamespace, store: Store) -> None:
    bars = kit.bars_from_rows(_MINUTES[:2], timeframe="1m")
    store.bars.write_bars(bars.instrument, "1m", bars)
    with pytest.raises(ConfigError, match="whole multiple"):
        store.bars.resample("TEST", "1m", "90s")
    with pytest.raises(ConfigError):
        store.bars.resample("TEST", "1m", "1m")
