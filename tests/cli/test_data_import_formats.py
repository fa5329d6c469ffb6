"""`data import` with format options and presets, sizes stored on the instrument, and
`backtest --data SYMBOL --timeframe 1w` resampling the stored daily series."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from trading_strategy.cli import main
from trading_strategy.config import load_settings
from trading_strategy.storage import open_store

FIXTURES = Path(__file__).parents[1] / "market_data" / "fixtures"


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRADING_STRATEGY_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRADING_STRATEGY_CONFIG_FILE", raising=False)


def _stored(symbol: str) -> tuple[list[int], Decimal, Decimal]:
    with open_store(load_settings().effective_database_url()) as store:
        bars = store.bars.read_bars(symbol)
    return bars.ts.tolist(), bars.instrument.tick_size, bars.instrument.lot_size


@pytest.mark.parametrize(("fixture", "options", "said"), [
    ("binance_BTCUSDT-1h.csv", ["--preset", "binance"], ""),
    ("mt4_tab_EURUSD60.csv", ["--preset", "mt4"], "date and time from two columns"),
    ("mt5_EURUSD_H1.csv", [], "MetaTrader 5 export"),
    ("semicolon_DAX.csv", ["--preset", "semicolon"], "decimal commas"),
    ("us_dates_ambiguous_SPY.csv", ["--preset", "us-dates"], "'%m/%d/%Y'"),
    ("semicolon_DAX.csv", ["--delimiter", ";", "--date-format", "%d.%m.%Y",
                           "--columns", "date=Date,close=Close"], "decimal commas"),
])
def test_import_each_shape(fixture: str, options: list[str], said: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "import", str(FIXTURES / fixture), "--symbol", "X", *options]) == 0
    out = capsys.readouterr().out
    assert said in out and "inserted" in out
    ts, _, _ = _stored("X")
    assert len(ts) >= 3


def test_tick_and_lot_sizes_are_stored_on_the_instrument(
        capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIXTURES / "binance_BTCUSDT-1h.csv")
    assert main(["data", "import", path, "--symbol", "BTC", "--lot-size", "0.00001",
                 "--tick-size", "0.01"]) == 0
    assert "tick 0.01, lot 0.00001" in capsys.readouterr().out
    assert _stored("BTC")[1:] == (Decimal("0.01"), Decimal("0.00001"))
    assert main(["data", "import", path, "--symbol", "BTC", "--tick-size", "0.5"]) == 2
    assert "does not divide it" in capsys.readouterr().err
    assert main(["data", "import", path, "--symbol", "BTC", "--lot-size", "0"]) == 2
    assert "invalid --lot-size '0': must be > 0" in capsys.readouterr().err


@pytest.mark.parametrize(("options", "message"), [
    (["--preset", "excel"], "unknown --preset 'excel'"),
    (["--tz", "Nowhere/Town"], "unknown time zone"),
    ([], "could be month/day or day/month"),
])
def test_bad_options_and_ambiguous_files_are_one_line_errors(
        options: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIXTURES / "us_dates_ambiguous_SPY.csv")
    assert main(["data", "import", path, *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_backtest_of_a_stored_daily_symbol_resamples_to_weeks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "ACME_1d.csv"
    rows = ["timestamp,open,high,low,close,volume"]
    for day in range(1, 120):
        price = 100 + (day % 17) - (day % 5)
        stamp = f"2024-{1 + (day - 1) // 28:02d}-{1 + (day - 1) % 28:02d}"
        rows.append(f"{stamp},{price},{price + 2},{price - 2},{price + 1},1000")
    source.write_text("\n".join(rows) + "\n")
    assert main(["data", "import", str(source)]) == 0
    capsys.readouterr()
    report = tmp_path / "report.json"
    assert main(["backtest", "--data", "ACME", "--timeframe", "1w", "--strategy",
                 "sma_crossover", "--param", "fast=2", "--param", "slow=3", "--allow-short-history",
                 "--json", str(report)]) == 0
    text = report.read_text()
    assert '"1w"' in text
    assert json.loads(text)
