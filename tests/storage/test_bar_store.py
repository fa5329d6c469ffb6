"""Bar store on both engines: round trip, idempotent upsert, atomicity, reads by range."""

from __future__ import annotations

import logging
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pytest
from sqlalchemy import text

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import ConfigError, DataError
from trading_strategy.storage import Store
from trading_strategy.storage import bar_store as bar_store_module


def _count(store: Store) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM bars")).scalar_one())


def _same(a: BarSeries, b: BarSeries) -> None:
    assert len(a) == len(b)
    for name in ("ts", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_round_trip_is_exact_and_in_time_order(kit: SimpleNamespace, store: Store) -> None:
    bars = kit.random_bars(500)
    result = store.bars.write_bars(bars.instrument, "1m", bars)
    assert (result.inserted, result.updated, result.unchanged) == (500, 0, 0)
    back = store.bars.read_bars("TEST", "1m")
    _same(back, bars)
    assert back.instrument.tick_size == Decimal("0.01")
    assert back.ts.dtype == np.int64 and back.close.dtype == np.float64
    assert back.close.flags["C_CONTIGUOUS"]


def test_prices_are_rounded_to_the_tick(kit: SimpleNamespace, store: Store) -> None:
    bars = kit.bars_from_rows([("2024-01-02", 10.004, 10.126, 9.994, 10.1049999, 1.5)],
                          timeframe="1d")
    store.bars.write_bars(bars.instrument, "1d", bars)
    back = store.bars.read_bars("TEST", "1d")
    assert back.open.tolist() == [10.0] and back.high.tolist() == [10.13]
    assert back.low.tolist() == [9.99] and back.close.tolist() == [10.1]
    assert back.volume.tolist() == [1.5]


def test_range_bounds_are_inclusive_and_default_timeframe(kit: SimpleNamespace,
                                                          store: Store) -> None:
    bars = kit.random_bars(10, timeframe="1h")
    store.bars.write_bars(bars.instrument, "1h", bars)
    part = store.bars.read_bars("test", None, start=kit.ns("2024-01-01T02:00:00Z"),
                                end=kit.ns("2024-01-01T05:00:00Z"))
    assert part.ts.tolist() == bars.ts[2:6].tolist()
    assert len(store.bars.read_bars("TEST", "1h", start=kit.ns("2025-01-01T00:00:00Z"))) == 0


def test_reimport_changes_nothing_and_one_changed_bar_is_one_update(
        kit: SimpleNamespace, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    bars = kit.random_bars(1000)
    store.bars.write_bars(bars.instrument, "1m", bars)
    again = store.bars.write_bars(bars.instrument, "1m", bars)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1000)

    close = bars.close.copy()
    close[700] = round(close[700] + 0.01, 2)
    high = np.maximum(bars.high, close)
    changed = BarSeries(bars.instrument, bars.timeframe, bars.ts, bars.open, high, bars.low,
                        close, bars.volume)
    with caplog.at_level(logging.INFO, logger="trading_strategy.storage"):
        result = store.bars.write_bars(bars.instrument, "1m", changed)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 999)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("bar changed")]
    assert len(lines) == 1
    old, new = float(bars.close[700]), float(close[700])
    assert f"close {old:.2f} -> {new:.2f}" in lines[0]
    _same(store.bars.read_bars("TEST", "1m"), changed)
    assert _count(store) == 1000


def test_overlapping_import_inserts_only_new_bars(kit: SimpleNamespace, store: Store) -> None:
    bars = kit.random_bars(300)
    store.bars.write_bars(bars.instrument, "1m", bars.between(None, int(bars.ts[199])))
    result = store.bars.write_bars(bars.instrument, "1m", bars.between(int(bars.ts[100]), None))
    assert (result.inserted, result.updated, result.unchanged) == (100, 0, 100)
    _same(store.bars.read_bars("TEST", "1m"), bars)


def test_invalid_bars_are_rejected_before_any_write(kit: SimpleNamespace, store: Store) -> None:
    bars = kit.random_bars(20)
    high = bars.high.copy()
    high[-1] = bars.low[-1] - 1
    bad = BarSeries(bars.instrument, bars.timeframe, bars.ts, bars.open, high, bars.low,
                    bars.close, bars.volume)
    with pytest.raises(DataError, match="bar 20"):
        store.bars.write_bars(bars.instrument, "1m", bad)
    assert _count(store) == 0
    assert store.instruments.get("TEST") is None


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        (0.004, "bar 2 (2024-01-03) of TEST 1d: open 0.004 rounds to 0 at tick size 0.01"),
        (1e308, "bar 2 (2024-01-03) of TEST 1d: open 1e+308 is too large"),
    ],
)
def test_prices_that_cannot_be_whole_ticks_are_rejected_before_any_write(
        kit: SimpleNamespace, store: Store, price: float, reason: str) -> None:
    # Regression: a price rounding to 0 ticks was stored as 0; 1e308 failed without a bar.
    bars = kit.bars_from_rows([("2024-01-02", 1, 1, 1, 1, 1),
                               ("2024-01-03", price, price, price, price, 1)], timeframe="1d")
    with pytest.raises(DataError) as caught:
        store.bars.write_bars(bars.instrument, "1d", bars)
    assert str(caught.value).startswith(reason)
    assert _count(store) == 0


def test_a_price_that_rounds_to_zero_at_the_stored_tick_changes_nothing(
        kit: SimpleNamespace, store: Store) -> None:
    # The stored tick (0.25) is kept: 0.1 does not divide it. 0.1 is 0.4 of its ticks, which
    # used to be stored as 0.
    quarter = kit.instrument(tick="0.25")
    first = kit.bars_from_rows([("2024-01-02", 10, 10, 10, 10, 1)], timeframe="1d",
                               inst=quarter)
    store.bars.write_bars(quarter, "1d", first)
    tenth = kit.instrument(tick="0.1")
    more = kit.bars_from_rows([("2024-01-03", 10, 10, 10, 10, 1),
                               ("2024-01-04", 0.1, 0.1, 0.1, 0.1, 1)], timeframe="1d",
                              inst=tenth)
    with pytest.raises(DataError, match=r"bar 2 \(2024-01-04\) of TEST 1d: open 0.1 rounds to "
                                        r"0 at tick size 0.25"):
        store.bars.write_bars(tenth, "1d", more)
    assert _count(store) == 1
    assert store.bars.read_bars("TEST", "1d").instrument.tick_size == Decimal("0.25")


def test_a_failure_mid_write_leaves_the_database_as_it_was(
        kit: SimpleNamespace, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    first = kit.random_bars(100)
    store.bars.write_bars(first.instrument, "1m", first)
    backend = "_pg_bars" if store.engine.dialect.name == "postgresql" else "_sqlite_bars"
    module = getattr(bar_store_module, backend)
    original = module.write

    def write_then_fail(*args: object, **kwargs: object) -> None:
        original(*args, **kwargs)  # the rows are in the transaction...
        raise RuntimeError("disk on fire")  # ...which must now roll back

    monkeypatch.setattr(module, "write", write_then_fail)
    more = kit.random_bars(200, seed=5, symbol="OTHER")
    with pytest.raises(RuntimeError):
        store.bars.write_bars(more.instrument, "1m", more)
    assert _count(store) == 100
    assert store.instruments.get("OTHER") is None


def test_exact_volumes_with_decimals(kit: SimpleNamespace, store: Store) -> None:
    bars = kit.bars_from_rows([("2024-01-02", 1, 1, 1, 1, 0.12345678),
                           ("2024-01-03", 1, 1, 1, 1, 123456789.5)], timeframe="1d")
    store.bars.write_bars(bars.instrument, "1d", bars)
    assert store.bars.read_bars("TEST", "1d").volume.tolist() == [0.12345678, 123456789.5]
    again = store.bars.write_bars(bars.instrument, "1d", bars)
    assert again.unchanged == 2


def test_a_finer_tick_is_adopted(kit: SimpleNamespace, store: Store) -> None:
    coarse = kit.bars_from_rows([("2024-01-02", 10, 10, 10, 10, 1)], timeframe="1d")
    store.bars.write_bars(coarse.instrument, "1d", coarse)
    fine = kit.bars_from_rows([("2024-01-03", 10.001, 10.001, 10.001, 10.001, 1)], timeframe="1d",
                          inst=kit.instrument(tick="0.001"))
    store.bars.write_bars(fine.instrument, "1d", fine)
    back = store.bars.read_bars("TEST", "1d")
    assert back.instrument.tick_size == Decimal("0.001")
    assert back.close.tolist() == [10.0, 10.001]


def test_lookup_errors_name_the_fix(kit: SimpleNamespace, store: Store) -> None:
    with pytest.raises(DataError, match="no data stored for symbol 'NOPE'"):
        store.bars.read_bars("NOPE", "1d")
    bars = kit.random_bars(5, timeframe="1h")
    store.bars.write_bars(bars.instrument, "1h", bars)
    daily = kit.random_bars(5, timeframe="1d")
    store.bars.write_bars(daily.instrument, "1d", daily)
    with pytest.raises(DataError, match="no 1m bars stored for TEST"):
        store.bars.read_bars("TEST", "1m")
    with pytest.raises(DataError, match="several timeframes"):
        store.bars.read_bars("TEST")
    assert [str(t) for t in store.bars.timeframes("TEST")] == ["1h", "1d"]
    with pytest.raises(ConfigError):
        store.bars.write_bars(bars.instrument, "1d", bars)


def test_series_lists_counts_and_ranges(kit: SimpleNamespace, store: Store) -> None:
    a = kit.random_bars(30, symbol="AAA", timeframe="1h")
    b = kit.random_bars(7, symbol="BBB", timeframe="1d")
    store.bars.write_bars(a.instrument, "1h", a)
    store.bars.write_bars(b.instrument, "1d", b)
    info = store.bars.series()
    assert [(s.symbol, str(s.timeframe), s.bars) for s in info] == [("AAA", "1h", 30),
                                                                    ("BBB", "1d", 7)]
    assert (info[0].first_ns, info[0].last_ns) == (a.start, a.end)


def test_large_read_uses_the_bulk_path(kit: SimpleNamespace, store: Store) -> None:
    bars = kit.random_bars(250_000, timeframe="1m", seed=3)  # above the parallel threshold
    store.bars.write_bars(bars.instrument, "1m", bars)
    _same(store.bars.read_bars("TEST", "1m"), bars)
    part = store.bars.read_bars("TEST", "1m", start=int(bars.ts[1000]), end=int(bars.ts[1999]))
    _same(part, bars.between(int(bars.ts[1000]), int(bars.ts[1999])))


def test_the_codec_refuses_what_it_cannot_hold_without_numpy_warnings(
        recwarn: pytest.WarningsRecorder) -> None:
    from trading_strategy.storage.bar_codec import PriceGrid

    grid = PriceGrid.for_tick(Decimal("0.01"))
    for value in (1e308, float("nan"), float("inf")):
        with pytest.raises(DataError, match=r"too large to store exactly at tick size 0\.01"):
            grid.to_ticks(np.array([1.0, value]))
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
