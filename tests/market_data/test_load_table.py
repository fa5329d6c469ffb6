"""load_table: an in-memory Arrow table read by the Parquet rules, with no file."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from trading_strategy.core.bars import datetime_to_ns
from trading_strategy.core.errors import DataError
from trading_strategy.market_data.files import load_bars, load_table
from trading_strategy.market_data.formats import file_format

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _table(**overrides: object) -> object:
    columns: dict[str, object] = {
        "Date": pa.array([datetime(2024, 1, d) for d in (2, 3, 4)], pa.timestamp("us")),
        "Open": [10.0, 10.5, 11.0], "High": [11.0, 12.0, 12.0], "Low": [9.0, 10.0, 10.5],
        "Close": [10.5, 11.0, 11.5], "Volume": [100, 200, 300]}
    columns.update(overrides)
    return pa.table(columns)


def test_a_table_loads_as_its_parquet_file_does(tmp_path: Path) -> None:
    table = _table()
    path = tmp_path / "XYZ_1d.parquet"
    pq.write_table(table, path)
    from_file = load_bars(path).bars
    from_table = load_table(table, symbol="XYZ").bars
    for role in ("ts", "open", "high", "low", "close", "volume"):
        assert getattr(from_table, role).tolist() == getattr(from_file, role).tolist()
    assert from_table.instrument == from_file.instrument
    assert str(from_table.timeframe) == "1d"


def test_options_and_adjusted_close_follow_the_file_rules() -> None:
    table = _table(**{"Adj Close": [5.25, 5.5, 5.75]})
    result = load_table(table, symbol="XYZ", timeframe="1d", lot_size=Decimal("0.001"))
    assert result.bars.close.tolist() == [5.25, 5.5, 5.75]
    assert result.bars.instrument.lot_size == Decimal("0.001")
    assert "Adj Close" in result.warnings[0]
    renamed = pa.table({"when": ["2024-01-02", "2024-01-03"], "o": [1.0, 1.0],
                        "h": [2.0, 2.0], "l": [1.0, 1.0], "c": [1.5, 1.5]})
    fmt = file_format(columns="date=when,open=o,high=h,low=l,close=c", tz="America/New_York")
    bars = load_table(renamed, symbol="R", fmt=fmt).bars
    assert bars.ts.tolist()[0] == datetime_to_ns(datetime(2024, 1, 2, 5, tzinfo=UTC))


def test_errors_name_the_source_and_row() -> None:
    table = _table(Close=[10.5, None, 11.5])
    with pytest.raises(DataError, match=r"^frame: row 2: Close is missing \(null\)"):
        load_table(table, symbol="XYZ", source="frame")
    with pytest.raises(DataError, match=r"^frame: row 2: high 9.0 is below low 10.0"):
        load_table(_table(High=[11.0, 9.0, 12.0]), symbol="XYZ", source="frame")
