"""Calendar months and weeks from stored daily bars, on both engines; read_bars resamples a
timeframe that is not stored (``backtest --data SYMBOL --timeframe 1w``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import ConfigError, DataError
from trading_strategy.storage import Store

# Daily bars across a year end and a leap February, with a bar before 1970 elsewhere.
_DAYS = [
    ("2023-12-29T00:00:00Z", 10.0, 11.0, 9.0, 10.5, 1),
    ("2024-01-02T00:00:00Z", 10.5, 12.0, 10.0, 11.0, 2),
    ("2024-01-31T00:00:00Z", 11.0, 11.5, 8.0, 9.0, 3),
    ("2024-02-01T00:00:00Z", 9.0, 9.5, 8.5, 9.2, 4),
    ("2024-02-29T00:00:00Z", 9.2, 13.0, 9.1, 12.5, 5),
    ("2024-03-01T00:00:00Z", 12.5, 12.6, 12.0, 12.1, 6),
    ("2024-04-30T00:00:00Z", 12.1, 12.2, 11.0, 11.5, 7),
]


def _rows(s: BarSeries) -> list[tuple[float, ...]]:
    return list(zip(s.ts.tolist(), s.open.tolist(), s.high.tolist(), s.low.tolist(),
                    s.close.tolist(), s.volume.tolist(), strict=True))


def _store_days(kit: SimpleNamespace, store: Store) -> None:
    bars = kit.bars_from_rows(_DAYS, timeframe="1d")
    store.bars.write_bars(bars.instrument, "1d", bars)


def test_days_to_calendar_months_keyed_on_the_first(kit: SimpleNamespace,
                                                    store: Store) -> None:
    _store_days(kit, store)
    months = store.bars.resample("TEST", "1d", "1mo")
    assert str(months.timeframe) == "1mo"
    assert _rows(months) == [
        (kit.ns("2023-12-01T00:00:00Z"), 10.0, 11.0, 9.0, 10.5, 1.0),
        (kit.ns("2024-01-01T00:00:00Z"), 10.5, 12.0, 8.0, 9.0, 5.0),
        (kit.ns("2024-02-01T00:00:00Z"), 9.0, 13.0, 8.5, 12.5, 9.0),  # the 29th included
        (kit.ns("2024-03-01T00:00:00Z"), 12.5, 12.6, 12.0, 12.1, 6.0),
        (kit.ns("2024-04-01T00:00:00Z"), 12.1, 12.2, 11.0, 11.5, 7.0),
    ]


def test_quarters_start_in_january_april_july_october(kit: SimpleNamespace,
                                                      store: Store) -> None:
    _store_days(kit, store)
    quarters = store.bars.resample("TEST", "1d", "3mo")
    assert [t for t, *_ in _rows(quarters)] == [
        kit.ns("2023-10-01T00:00:00Z"), kit.ns("2024-01-01T00:00:00Z"),
        kit.ns("2024-04-01T00:00:00Z")]
    assert _rows(quarters)[1][1:] == (10.5, 13.0, 8.0, 12.1, 20.0)


def test_months_before_1970(kit: SimpleNamespace, store: Store) -> None:
    rows = [("1969-11-30T00:00:00Z", 1.0, 2.0, 0.5, 1.5, 1),
            ("1969-12-31T00:00:00Z", 1.5, 3.0, 1.0, 2.5, 1),
            ("1970-01-01T00:00:00Z", 2.5, 2.6, 2.4, 2.45, 1)]
    bars = kit.bars_from_rows(rows, timeframe="1d")
    store.bars.write_bars(bars.instrument, "1d", bars)
    months = store.bars.resample("TEST", "1d", "1mo")
    assert [t for t, *_ in _rows(months)] == [
        kit.ns("1969-11-01T00:00:00Z"), kit.ns("1969-12-01T00:00:00Z"),
        kit.ns("1970-01-01T00:00:00Z")]


def test_read_bars_resamples_a_timeframe_that_is_not_stored(kit: SimpleNamespace,
                                                            store: Store) -> None:
    _store_days(kit, store)
    weeks = store.bars.read_bars("TEST", "1w")
    assert str(weeks.timeframe) == "1w"
    assert _rows(weeks) == _rows(store.bars.resample("TEST", "1d", "1w"))
    assert kit.ns("2023-12-25T00:00:00Z") == int(weeks.ts[0])  # the Monday
    months = store.bars.read_bars("TEST", "1mo", start=kit.ns("2024-02-01T00:00:00Z"))
    assert int(months.ts[0]) == kit.ns("2024-02-01T00:00:00Z")
    with pytest.raises(DataError, match="no 1h bars stored"):
        store.bars.read_bars("TEST", "1h")  # finer than anything stored


def test_weeks_do_not_make_months(kit: SimpleNamespace, store: Store) -> None:
    rows = [("2024-01-01T00:00:00Z", 1.0, 2.0, 0.5, 1.5, 1),
            ("2024-01-08T00:00:00Z", 1.5, 3.0, 1.0, 2.5, 1)]
    bars = kit.bars_from_rows(rows, timeframe="1w")
    store.bars.write_bars(bars.instrument, "1w", bars)
    with pytest.raises(ConfigError, match="months are made of days"):
        store.bars.resample("TEST", "1w", "1mo")
    with pytest.raises(DataError, match="no 1mo bars stored"):
        store.bars.read_bars("TEST", "1mo")
