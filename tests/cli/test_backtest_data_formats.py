"""`backtest --data FILE` with `data import`'s format options, `.txt` files (MetaTrader
exports), and `Backtest(path, preset=...)` giving the CLI's report byte for byte."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trading_strategy.api import ArgumentError, Backtest
from trading_strategy.cli import main
from trading_strategy.market_data.formats import PRESETS


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRADING_STRATEGY_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRADING_STRATEGY_CONFIG_FILE", raising=False)


def _mt4_lines(count: int = 120) -> list[str]:
    """MetaTrader 4 hourly export lines: date and time columns, tab-separated, no header;
    a zigzag close so the 10/30 SMA crossover trades."""
    start = datetime(2024, 1, 2, tzinfo=UTC)
    lines, price = [], 1.1
    for k in range(count):
        moment = start + timedelta(hours=k)
        step = 0.0004 if (k // 20) % 2 == 0 else -0.0004
        close = round(price + step, 5)
        high, low = round(max(price, close) + 0.0002, 5), round(min(price, close) - 0.0002, 5)
        lines.append(f"{moment:%Y.%m.%d}\t{moment:%H:%M}\t{price:.5f}\t{high:.5f}\t"
                     f"{low:.5f}\t{close:.5f}\t{100 + k}")
        price = close
    return lines


@pytest.fixture
def mt4_txt(tmp_path: Path) -> Path:
    path = tmp_path / "EURUSD_H1.txt"
    path.write_text("\n".join(_mt4_lines()) + "\n", encoding="ascii")
    return path


def _cli_json(tmp_path: Path, data: Path, *options: str) -> bytes:
    out = tmp_path / "report.json"
    code = main(["backtest", "--strategy", "sma_crossover", "--data", str(data),
                 "--allow-short-history", "--no-store", "--quiet", "--json", str(out),
                 *options])
    assert code == 0
    return out.read_bytes()


def test_a_metatrader_txt_file_backtests_with_the_preset_and_detected(
        tmp_path: Path, mt4_txt: Path) -> None:
    with_preset = _cli_json(tmp_path, mt4_txt, "--preset", "mt4")
    report = json.loads(with_preset)
    assert report["data"]["symbol"] == "EURUSD"
    assert report["data"]["timeframe"] == "1h"
    assert report["data"]["bars"] == 120
    assert report["data"]["start"] == "2024-01-02T00:00:00Z"
    assert report["orders"]["submitted"] >= 2
    # the same layout detected without options: the same report
    assert _cli_json(tmp_path, mt4_txt) == with_preset


def test_the_api_takes_the_same_options_and_gives_the_cli_report(
        tmp_path: Path, mt4_txt: Path) -> None:
    cli = _cli_json(tmp_path, mt4_txt, "--preset", "mt4", "--tz", "UTC")
    backtest = Backtest(str(mt4_txt), "sma_crossover", preset="mt4", tz="UTC",
                        allow_short_history=True, store=False)
    assert "date and time from two columns" in backtest.data_format_found
    assert backtest.run().to_json().encode() == cli
    by_object = Backtest(mt4_txt, "sma_crossover", data_format=PRESETS["mt4"],
                         allow_short_history=True, store=False)
    assert by_object.run().to_json().encode() == cli


def test_a_gzipped_txt_file_reads_as_the_plain_one(tmp_path: Path, mt4_txt: Path) -> None:
    packed = tmp_path / "EURUSD_H1.txt.gz"
    packed.write_bytes(gzip.compress(mt4_txt.read_bytes()))
    assert _cli_json(tmp_path, packed, "--preset", "mt4") == _cli_json(
        tmp_path, mt4_txt, "--preset", "mt4")


def test_us_dates_need_the_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "SPY_1d.csv"
    start = datetime(2024, 1, 2)
    rows = ["Date,Open,High,Low,Close,Volume"]
    for k in range(40):  # weekdays of January and February: no day above 12 in the first
        moment = start + timedelta(days=k)
        price = 470 + (k % 7)
        rows.append(f"{moment:%m/%d/%Y},{price},{price + 2},{price - 2},{price + 1},1000")
    path.write_text("\n".join(rows) + "\n", encoding="ascii")
    report = json.loads(_cli_json(tmp_path, path, "--preset", "us-dates"))
    assert report["data"]["start"] == "2024-01-02"
    backtest = Backtest(path, "sma_crossover", preset="us-dates", allow_short_history=True,
                        store=False)
    assert backtest.run().to_json() == json.dumps(report, separators=(",", ":")) + "\n"


@pytest.mark.parametrize(("options", "message"), [
    (["--preset", "mt9"], "error: unknown --preset 'mt9'; presets: yahoo, binance"),
    (["--delimiter", "ab"], "error: invalid --delimiter 'ab'"),
    (["--date-format", "%Q"], "error: --date-format '%Q': unsupported directive %Q"),
    (["--tz", "Mars/Base"], "error: unknown time zone --tz 'Mars/Base'"),
    (["--columns", "foo,bar"], "error: --columns 'foo,bar': unknown column 'foo'"),
])
def test_bad_format_options_are_one_line_errors(
        options: list[str], message: str, mt4_txt: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest", "--strategy", "sma_crossover", "--data", str(mt4_txt),
                 "--allow-short-history", "--no-store", *options])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(message)
    assert err.count("\n") == 1 and "Traceback" not in err


def test_format_options_refused_for_a_symbol_and_with_a_portfolio(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG",
                 "--preset", "mt4", "--tz", "UTC", "--no-store"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: --preset, --tz apply to a --data file; 'GOOG' is not a file (a "
                   "symbol is read as it was stored)\n")
    assert main(["backtest", "--config", str(tmp_path / "p.toml"), "--delimiter", ";"]) == 2
    assert "error: --delimiter does not apply with --config" in capsys.readouterr().err


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"preset": "mt9"}, "unknown preset 'mt9'"),
    ({"delimiter": "ab"}, "invalid delimiter 'ab'"),
    ({"date_format": "%Q"}, "date_format '%Q': unsupported directive %Q"),
    ({"tz": "Mars/Base"}, "unknown time zone tz 'Mars/Base'"),
    ({"columns": "foo,bar"}, "columns 'foo,bar': unknown column 'foo'"),
    ({"preset": 4}, "preset: expected text, got 4"),
    ({"data_format": "mt4"}, "data_format: expected a market_data.formats.FileFormat"),
    ({"data_format": PRESETS["mt4"], "tz": "UTC"},
     "data_format: give either a FileFormat or tz, not"),
])
def test_bad_format_arguments_of_the_api(kwargs: dict[str, object], message: str,
                                         mt4_txt: Path) -> None:
    with pytest.raises(ArgumentError, match="^" + re.escape(message)) as info:
        Backtest(mt4_txt, "sma_crossover", allow_short_history=True, store=False,
                 **kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def test_the_api_refuses_a_format_for_a_sample() -> None:
    with pytest.raises(ArgumentError, match="apply to data files; 'GOOG' is not a file"):
        Backtest("GOOG", "sma_crossover", preset="yahoo", store=False)
