"""The bundled samples: lookup, instruments, and loading them through ``load_bars``."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from importlib.resources import as_file

import pytest

from trading_strategy.core.bars import datetime_to_ns, format_ts
from trading_strategy.core.errors import DataError
from trading_strategy.core.instrument import AssetClass, Calendar
from trading_strategy.market_data.files import load_bars
from trading_strategy.market_data.samples import (
    is_sample,
    sample_instrument,
    sample_path,
    sample_symbols,
    sample_timeframe,
)

EQUITIES = ["AAPL", "GOOG", "IBM", "MSFT"]


def read_rows(symbol: str) -> list[list[str]]:
    with sample_path(symbol).open("r", encoding="utf-8") as stream:
        return list(csv.reader(stream))[1:]


def test_sample_symbols() -> None:
    assert sample_symbols() == ["AAPL", "EURUSD", "GOOG", "IBM", "MSFT"]


def test_lookup_is_case_insensitive() -> None:
    assert sample_path("goog").name == "GOOG_1d.csv"
    assert sample_path(" EurUsd ").name == "EURUSD_1h.csv"
    assert is_sample("msft")
    assert not is_sample("TSLA")


def test_unknown_sample() -> None:
    with pytest.raises(DataError, match="unknown sample 'TSLA'; available samples: AAPL, EURUSD"):
        sample_path("TSLA")


@pytest.mark.parametrize("symbol", EQUITIES)
def test_equity_instruments(symbol: str) -> None:
    instrument = sample_instrument(symbol.lower())
    assert instrument.symbol == symbol
    assert instrument.tick_size == Decimal("0.0001")
    assert instrument.lot_size == Decimal("1")
    assert (instrument.asset_class, instrument.calendar) == (AssetClass.EQUITY, Calendar.XNYS)
    assert instrument.currency == "USD"
    assert str(sample_timeframe(symbol)) == "1d"


def test_fx_instrument() -> None:
    instrument = sample_instrument("eurusd")
    assert instrument.symbol == "EURUSD"
    assert instrument.tick_size == Decimal("0.00001")
    assert instrument.lot_size == Decimal("1")
    assert (instrument.asset_class, instrument.calendar) == (AssetClass.FX, Calendar.FX)
    assert str(sample_timeframe("EURUSD")) == "1h"


def test_goog_first_and_last_bar_match_the_file() -> None:
    result = load_bars("goog")
    bars = result.bars
    assert result.warnings == []
    assert bars.instrument == sample_instrument("GOOG")
    assert str(bars.timeframe) == "1d"
    # Known first bar, then both ends against the file itself.
    assert format_ts(bars.start, bars.timeframe) == "2004-08-19"
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0]) == (
        50.1598,
        52.1911,
        48.1286,
        50.3228,
    )
    assert bars.volume[0] == 44_659_000
    rows = read_rows("GOOG")
    assert len(bars) == len(rows)
    for index in (0, -1):
        stamp, *values = rows[index]
        assert bars.ts[index] == datetime_to_ns(datetime.fromisoformat(stamp))
        got = [bars.open, bars.high, bars.low, bars.close, bars.volume]
        assert [float(column[index]) for column in got] == [float(v) for v in values]


@pytest.mark.parametrize("symbol", sample_symbols())
def test_every_sample_loads_clean(symbol: str) -> None:
    result = load_bars(symbol)
    assert result.warnings == []
    assert len(result.bars) == len(read_rows(symbol))
    assert result.bars.timeframe == sample_timeframe(symbol)


def test_timeframe_inferred_for_samples_matches_their_names() -> None:
    # Loading the sample files as plain files exercises inference on real data.
    for symbol, expected in (("GOOG", "1d"), ("EURUSD", "1h")):
        with as_file(sample_path(symbol)) as path:
            bars = load_bars(str(path)).bars
        assert str(bars.timeframe) == expected
        assert bars.instrument.symbol == symbol
        assert bars.instrument.tick_size == sample_instrument(symbol).tick_size
    with as_file(sample_path("EURUSD")) as path:
        fx = load_bars(str(path)).bars.instrument
    # Sunday-evening hourly bars and no Saturday ones: the heuristic says FX.
    assert (fx.asset_class, fx.calendar, fx.currency) == (AssetClass.FX, Calendar.FX, "USD")


def test_sample_options() -> None:
    result = load_bars("EURUSD", timeframe="1h", symbol="EUR/USD", lot_size=Decimal("1000"))
    assert result.bars.instrument.symbol == "EUR/USD"
    assert result.bars.instrument.lot_size == Decimal("1000")
    with pytest.raises(DataError, match="timeframe 1d does not match the data"):
        load_bars("EURUSD", timeframe="1d")


def test_unknown_symbol_lists_samples_and_mentions_files() -> None:
    with pytest.raises(DataError) as caught:
        load_bars("TSLA")
    message = str(caught.value)
    assert "'TSLA' is neither a data file nor a bundled sample" in message
    assert "AAPL, EURUSD, GOOG, IBM, MSFT" in message
    assert "path to a .csv" in message
