"""Data for the API: every in-memory form is read by the file loader's rules, with its errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trading_strategy.api import ArgumentError, Backtest, DataWarning
from trading_strategy.core.errors import DataError
from trading_strategy.market_data.files import load_bars

ROWS = [
    ("2024-01-02", 10.0, 11.0, 9.5, 10.5, 100.0),
    ("2024-01-03", 10.5, 11.5, 10.0, 11.0, 120.0),
    ("2024-01-04", 11.0, 12.0, 10.5, 11.5, 90.0),
    ("2024-01-05", 11.5, 12.5, 11.0, 12.0, 80.0),
]
NAMES = ("timestamp", "open", "high", "low", "close", "volume")


def columns(rows: list[tuple[Any, ...]] = ROWS, names: tuple[str, ...] = NAMES
            ) -> dict[str, list[Any]]:
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def write_csv(path: Path, rows: list[tuple[Any, ...]] = ROWS,
              names: tuple[str, ...] = NAMES) -> Path:
    lines = [",".join(names)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def bt(data: object, **kw: Any) -> Backtest:
    return Backtest(data, "sma_crossover", **kw)


def assert_same_bars(a: Backtest, b: Backtest) -> None:
    assert a.bars.instrument == b.bars.instrument
    assert a.bars.timeframe == b.bars.timeframe
    for name in ("ts", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a.bars, name), getattr(b.bars, name))


def test_columns_give_the_bars_of_the_same_csv_file(tmp_path: Path) -> None:
    from_csv = bt(write_csv(tmp_path / "data.csv"))
    from_columns = bt(columns())
    assert_same_bars(from_columns, from_csv)
    assert from_columns.bars.instrument.symbol == "DATA"
    assert bt(columns(), symbol="ABC").bars.instrument.symbol == "ABC"


def test_a_whole_sample_backtests_exactly_as_its_csv(tmp_path: Path) -> None:
    sample = load_bars("GOOG").bars
    stamps = np.asarray(sample.ts).astype("datetime64[ns]")
    data = {"Date": stamps, "Open": sample.open, "High": sample.high, "Low": sample.low,
            "Close": sample.close, "Volume": sample.volume}
    path = tmp_path / "GOOG_1d.csv"
    rows = [(str(d)[:10], *(repr(float(v)) for v in vals)) for d, *vals in
            zip(stamps, sample.open, sample.high, sample.low, sample.close, sample.volume,
                strict=True)]
    write_csv(path, rows)
    from_frame = bt(data, symbol="GOOG", commission=0.001).run()
    from_file = bt(path, commission=0.001).run()
    assert from_frame.to_json() == from_file.to_json()


@pytest.mark.parametrize(("row", "value", "field"), [
    (2, float("nan"), 4),       # NaN close
    (1, -1.0, 1),               # negative open
    (3, 20.0, 3),               # low above high
])
def test_bad_values_give_the_csv_reason_with_the_row(
        tmp_path: Path, row: int, value: float, field: int) -> None:
    rows = [list(r) for r in ROWS]
    rows[row][field] = value
    bad = [tuple(r) for r in rows]
    with pytest.raises(DataError) as from_csv:
        bt(write_csv(tmp_path / "bad.csv", bad))
    with pytest.raises(DataError) as from_columns:
        bt(columns(bad))
    assert from_columns.value.reason == f"row {row + 1}: {from_csv.value.reason}"
    assert str(from_columns.value).startswith("data (in-memory table): row ")


@pytest.mark.parametrize("order", [[0, 2, 1, 3], [0, 1, 1, 2]], ids=["unsorted", "duplicate"])
def test_order_problems_are_refused_or_repaired_as_for_files(
        tmp_path: Path, order: list[int]) -> None:
    rows = [ROWS[i] for i in order]
    with pytest.raises(DataError) as from_csv:
        bt(write_csv(tmp_path / "bad.csv", rows))
    with pytest.raises(DataError) as from_columns:
        bt(columns(rows))
    assert from_columns.value.reason.endswith(from_csv.value.reason)
    assert "repair=True" in str(from_columns.value)
    with pytest.warns(DataWarning, match="repaired"):
        repaired = bt(columns(rows), repair=True)
    assert repaired.warnings and all("repaired" in w for w in repaired.warnings)
    assert np.all(np.diff(repaired.bars.ts) > 0)


def test_adjusted_close_is_applied_as_for_files(tmp_path: Path) -> None:
    names = ("Date", "Open", "High", "Low", "Close", "Adj Close", "Volume")
    rows = [(d, o, h, lo, c, round(c / 2, 4), v) for d, o, h, lo, c, v in ROWS]
    with pytest.warns(DataWarning):
        from_csv = bt(write_csv(tmp_path / "data.csv", rows, names))
    with pytest.warns(DataWarning, match="adjusted prices: open, high, low and close scaled"):
        from_columns = bt(columns(rows, names))
    assert_same_bars(from_columns, from_csv)
    assert from_columns.bars.close[0] == pytest.approx(ROWS[0][4] / 2)
    assert from_columns.warnings and "Adj Close" in from_columns.warnings[0]
    assert "trading-strategy-" not in from_columns.warnings[0]  # no temporary file named


def test_column_names_are_matched_ignoring_case() -> None:
    upper = bt(columns(names=("DATE", "Open", "HIGH", "low", "Close", "VOLUME")))
    assert_same_bars(upper, bt(columns()))


def test_missing_column_is_named() -> None:
    data = columns()
    del data["low"]
    with pytest.raises(DataError, match="missing column low"):
        bt(data)


def test_naive_timestamps_are_utc_and_aware_ones_converted() -> None:
    naive = [datetime(2024, 1, d, 14, 0) for d in (2, 3, 4, 5)]
    paris = timezone(timedelta(hours=2))
    aware = [datetime(2024, 1, d, 16, 0, tzinfo=paris) for d in (2, 3, 4, 5)]
    as_datetime64 = np.array(naive, dtype="datetime64[ns]")
    expected = [int(datetime(2024, 1, d, 14, 0, tzinfo=UTC).timestamp()) * 10**9
                for d in (2, 3, 4, 5)]
    for stamps in (naive, aware, as_datetime64):
        data = columns()
        data["timestamp"] = list(stamps) if not isinstance(stamps, np.ndarray) else stamps
        assert bt(data).bars.ts.tolist() == expected


def test_epoch_milliseconds_are_scaled() -> None:
    data = columns()
    data["timestamp"] = [int(datetime(2024, 1, d, tzinfo=UTC).timestamp() * 1000)
                         for d in (2, 3, 4, 5)]
    assert_same_bars(bt(data), bt(columns()))


def test_start_and_end_cut_the_bars() -> None:
    cut = bt(columns(), start="2024-01-03", end="2024-01-04")
    assert len(cut.bars) == 2
    day = bt(columns(), end=datetime(2024, 1, 4).date())
    assert len(day.bars) == 3  # a plain date as the end includes that day
    with pytest.raises(ArgumentError, match="no bars"):
        bt(columns(), start="2030-01-01")
    with pytest.raises(ArgumentError, match="start: expected a date"):
        bt(columns(), start="yesterday")


def test_unknown_forms_and_names_are_refused_with_the_accepted_forms(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="data: got an object of type int; give a pandas"):
        bt(42)
    with pytest.raises(DataError, match="file not found"):
        bt(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="neither a data file, a bundled sample nor a stored"):
        bt("NOSUCHSYMBOL")
    with pytest.raises(ArgumentError, match="one-dimensional"):
        bt({**columns(), "open": np.ones((4, 2))})


def test_a_stored_symbol_is_read_from_the_database() -> None:
    from trading_strategy.config import load_settings
    from trading_strategy.storage import open_store

    bars = load_bars("GOOG", symbol="XGOOG").bars
    store = open_store(load_settings().effective_database_url())
    try:
        store.bars.write_bars(bars.instrument, bars.timeframe, bars)
    finally:
        store.engine.dispose()
    stored = bt("XGOOG")
    np.testing.assert_array_equal(stored.bars.close, bars.close)
    assert stored.bars.instrument.symbol == "XGOOG"
    with pytest.raises(ArgumentError, match="read from the database as it was imported"):
        bt("XGOOG", tick_size="0.01")


def test_an_open_store_comes_before_the_samples() -> None:
    from trading_strategy.config import load_settings
    from trading_strategy.storage import open_store

    sample = load_bars("GOOG").bars
    own = load_bars("GOOG", symbol="GOOG").bars
    store = open_store(load_settings().effective_database_url())
    try:
        # a user's own GOOG (here: the first 1,000 bars) replaces the sample
        store.bars.write_bars(own.instrument, own.timeframe, own.between(
            None, int(own.ts[999])))
        assert len(bt("GOOG", store=store).bars) == 1000
        assert len(bt("GOOG").bars) == len(sample)  # without a store: the bundled sample
        assert len(bt("GOOG", store=store, tick_size="0.0001").bars) == len(sample)
    finally:
        store.engine.dispose()


# --- pandas and polars -----------------------------------------------------------------


def test_pandas_frame_with_a_datetime_index_as_backtesting_py_uses() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(columns(), columns=list(NAMES)).set_index("timestamp")
    frame.index = pd.to_datetime(frame.index)
    frame.columns = [c.title() for c in frame.columns]
    frame.index.name = None
    assert_same_bars(bt(frame), bt(columns()))


def test_pandas_tz_aware_index_is_converted_to_utc() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(columns(), columns=list(NAMES)).set_index("timestamp")
    frame.index = pd.to_datetime(frame.index).tz_localize("UTC").tz_convert("America/New_York")
    assert_same_bars(bt(frame), bt(columns()))


def test_yfinance_shaped_frame_with_adj_close_and_ticker_level() -> None:
    pd = pytest.importorskip("pandas")
    names = ("Date", "Open", "High", "Low", "Close", "Adj Close", "Volume")
    rows = [(d, o, h, lo, c, round(c / 2, 4), v) for d, o, h, lo, c, v in ROWS]
    frame = pd.DataFrame(columns(rows, names)).set_index("Date")
    frame.index = pd.to_datetime(frame.index)
    frame.columns = pd.MultiIndex.from_product([frame.columns, ["GOOG"]])
    assert_same_bars(bt(frame), bt(columns(rows, names), symbol="GOOG"))


def test_pandas_frame_with_a_date_column_and_bad_row() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(columns(), columns=list(NAMES))
    assert_same_bars(bt(frame), bt(columns()))
    frame.loc[1, "close"] = float("nan")
    with pytest.raises(DataError, match="row 2: "):
        bt(frame)


def test_pandas_frame_symbol_and_ambiguous_timestamps() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(columns(), columns=list(NAMES))
    frame.attrs["symbol"] = "XYZ"
    assert bt(frame).bars.instrument.symbol == "XYZ"
    frame.index = pd.to_datetime(frame["timestamp"])
    with pytest.raises(ArgumentError, match="both the index and column 'timestamp'"):
        bt(frame)


def test_polars_frame() -> None:
    pl = pytest.importorskip("polars")
    assert_same_bars(bt(pl.DataFrame(columns())), bt(columns()))
