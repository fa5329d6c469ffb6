"""File formats: the vendor shapes in fixtures/, presets, options, detection and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from trading_strategy.core.bars import datetime_to_ns
from trading_strategy.core.errors import ConfigError, DataError
from trading_strategy.market_data._columns import _BadValue
from trading_strategy.market_data._dates import compile_format, localize, parse_with, zone
from trading_strategy.market_data.files import load_bars
from trading_strategy.market_data.formats import FileFormat, file_format

FIXTURES = Path(__file__).parent / "fixtures"


def ns(text: str) -> int:
    return datetime_to_ns(datetime.fromisoformat(text).replace(tzinfo=UTC))


def load(name: str, **options: str) -> tuple[list[int], list[float], list[float], str]:
    result = load_bars(FIXTURES / name, fmt=file_format(**options))
    bars = result.bars
    return bars.ts.tolist(), bars.open.tolist(), bars.volume.tolist(), result.format


# --- each vendor's shape, detected and by preset ------------------------------------------


@pytest.mark.parametrize("preset", [None, "binance"])
def test_binance_klines_without_header(preset: str | None) -> None:
    ts, opens, volume, said = load("binance_BTCUSDT-1h.csv", preset=preset)  # type: ignore[arg-type]
    assert ts[:2] == [ns("2024-01-01T00:00:00"), ns("2024-01-01T01:00:00")]  # ms epochs
    assert opens[0] == 42283.58 and volume[0] == 1271.68108
    if preset is None:
        assert "Binance klines" in said


@pytest.mark.parametrize("preset", [None, "binance"])
def test_binance_klines_with_header(preset: str | None) -> None:
    ts, opens, _, _ = load("binance_header_ETHUSDT-1d.csv", preset=preset)  # type: ignore[arg-type]
    assert ts == [ns("2024-01-01"), ns("2024-01-02"), ns("2024-01-03")]
    assert opens[0] == 2281.87


@pytest.mark.parametrize("name", ["mt4_EURUSD60.csv", "mt4_tab_EURUSD60.csv"])
@pytest.mark.parametrize("preset", [None, "mt4"])
def test_metatrader4_date_and_time_columns(name: str, preset: str | None) -> None:
    ts, opens, volume, said = load(name, preset=preset)  # type: ignore[arg-type]
    assert ts[:2] == [ns("2024-01-02T00:00"), ns("2024-01-02T01:00")]
    assert opens[0] == 1.1042 and volume[0] == 312
    assert "date and time from two columns" in said


@pytest.mark.parametrize("preset", [None, "mt5"])
def test_metatrader5_tab_export_uses_tick_volume(preset: str | None) -> None:
    ts, _, volume, said = load("mt5_EURUSD_H1.csv", preset=preset)  # type: ignore[arg-type]
    assert ts[-1] == ns("2024-01-02T03:00")
    assert volume == [312, 487, 655, 601]  # <TICKVOL>, not the zero <VOL>
    assert "<TICKVOL>" in said
    daily, _, _, _ = load("mt5_EURUSD_Daily.csv", preset=preset)  # type: ignore[arg-type]
    assert daily == [ns("2024-01-02"), ns("2024-01-03"), ns("2024-01-04")]


@pytest.mark.parametrize("preset", [None, "semicolon"])
def test_semicolons_decimal_commas_and_dotted_dates(preset: str | None) -> None:
    ts, opens, volume, said = load("semicolon_DAX.csv", preset=preset)  # type: ignore[arg-type]
    assert ts[0] == ns("2024-01-02") and ts[-1] == ns("2024-01-05")
    assert opens[0] == 16769.36 and volume[0] == 70_012_300
    assert "decimal commas" in said and "'%d.%m.%Y'" in said


def test_us_dates_detected_when_a_day_is_above_12() -> None:
    ts, _, _, said = load("us_dates_SPY.csv")
    assert ts == [ns("2024-01-12"), ns("2024-01-16"), ns("2024-01-17")]
    assert "'%m/%d/%Y' (detected" in said


def test_ambiguous_dates_are_refused_naming_the_options() -> None:
    with pytest.raises(DataError) as caught:
        load("us_dates_ambiguous_SPY.csv")
    message = str(caught.value)
    assert "us_dates_ambiguous_SPY.csv:2:" in message
    assert "--date-format '%m/%d/%Y'" in message and "--preset us-dates" in message
    us, _, _, _ = load("us_dates_ambiguous_SPY.csv", preset="us-dates")
    assert us[0] == ns("2024-01-02")
    european, _, _, _ = load("us_dates_ambiguous_SPY.csv", date_format="%d/%m/%Y")
    assert european[:2] == [ns("2024-02-01"), ns("2024-03-01")]


def test_yahoo_preset_applies_the_adjusted_close() -> None:
    result = load_bars(FIXTURES / "yahoo_AAPL.csv", fmt=file_format(preset="yahoo"))
    assert result.bars.close[0] == pytest.approx(184.938217)
    assert "Adj Close" in result.warnings[0]


# --- options ----------------------------------------------------------------------------


def test_column_mapping_renames_and_positions_read_a_headerless_file(tmp_path: Path) -> None:
    named = tmp_path / "X_1d.csv"
    named.write_text("Datum|Erster|Hoch|Tief|Schluss|Umsatz\n"
                     "2024-01-02|10|11|9|10.5|100\n2024-01-03|10.5|12|10|11|200\n")
    fmt = file_format(columns="date=Datum,open=Erster,high=Hoch,low=Tief,close=Schluss,"
                              "volume=Umsatz", delimiter="|")
    bars = load_bars(named, fmt=fmt).bars
    assert bars.close.tolist() == [10.5, 11.0] and bars.volume.tolist() == [100, 200]
    bare = tmp_path / "Y_1d.csv"
    bare.write_text("x,2024-01-02,10,11,9,10.5\nx,2024-01-03,10.5,12,10,11\n")
    bars = load_bars(bare, fmt=file_format(columns="-,timestamp,open,high,low,close")).bars
    assert bars.ts.tolist() == [ns("2024-01-02"), ns("2024-01-03")]
    assert bars.volume.tolist() == [0, 0]


def test_a_mapped_column_that_is_missing_names_the_header(tmp_path: Path) -> None:
    path = tmp_path / "X_1d.csv"
    path.write_text("timestamp,open,high,low,close\n2024-01-02,10,11,9,10.5\n")
    with pytest.raises(DataError, match=r"X_1d.csv:1: --columns close=Last: no such column"):
        load_bars(path, fmt=file_format(columns="close=Last"))


def test_tz_converts_wall_times_across_daylight_saving(tmp_path: Path) -> None:
    path = tmp_path / "X_1h.csv"
    path.write_text("timestamp,open,high,low,close\n"
                    "2024-03-31 00:00,1,1,1,1\n2024-03-31 01:00,1,1,1,1\n"
                    "2024-03-31 03:00,1,1,1,1\n2024-03-31 04:00,1,1,1,1\n")
    result = load_bars(path, fmt=file_format(tz="Europe/Berlin"))
    # 02:00 does not exist in Berlin that night: the bars stay one hour apart in UTC.
    assert result.bars.ts.tolist() == [ns("2024-03-30T23:00"), ns("2024-03-31T00:00"),
                                       ns("2024-03-31T01:00"), ns("2024-03-31T02:00")]
    assert "Europe/Berlin converted to UTC" in result.format


def test_tz_is_refused_for_timestamps_that_are_utc_already(tmp_path: Path) -> None:
    path = tmp_path / "X_1h.csv"
    path.write_text("timestamp,open,high,low,close\n2024-01-02T00:00:00Z,1,1,1,1\n"
                    "2024-01-02T01:00:00Z,1,1,1,1\n")
    with pytest.raises(DataError, match="carry their own offset; drop --tz"):
        load_bars(path, fmt=file_format(tz="Europe/Berlin"))
    with pytest.raises(DataError, match="epochs, which are UTC already"):
        load_bars(FIXTURES / "binance_BTCUSDT-1h.csv", fmt=file_format(tz="UTC"))


@pytest.mark.parametrize(("options", "message"), [
    ({"preset": "excel"}, "unknown --preset 'excel'; presets: yahoo, binance"),
    ({"date_format": "%d.%m.%Q"}, "unsupported directive %Q"),
    ({"date_format": "%d.%m"}, "a date needs a year"),
    ({"tz": "Mars/Olympus"}, "unknown time zone --tz 'Mars/Olympus'"),
    ({"delimiter": "ab"}, "invalid --delimiter 'ab'"),
    ({"columns": "date=Datum,price=Kurs"}, "unknown column 'price'"),
    ({"columns": "open=A,open=B"}, "open is given twice"),
    ({"columns": "date"}, None),
])
def test_malformed_options_are_one_line_config_errors(options: dict[str, str],
                                                      message: str | None) -> None:
    if message is None:
        assert file_format(**options) == FileFormat(positions=("date",))  # type: ignore[arg-type]
        return
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        file_format(**options)  # type: ignore[arg-type]


def test_no_option_means_no_format() -> None:
    assert file_format() is None
    assert file_format(delimiter="tab") == FileFormat(delimiter="\t")


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("Date;Open;High;Low;Close\n02.01.2024;1,5;2;1;1,5\n03.01.2024;1.5;2;1;1,5\n", 3,
     "bad number in column Open: '1.5'"),  # a dot in a decimal-comma file is refused
    ("Date,Open,High,Low,Close\n31.01.2024,1,2,1,1\n2024-02-01,1,2,1,1\n", 3,
     "bad timestamp '2024-02-01': does not match the date format '%d.%m.%Y'"),
    ("Date,Open,High,Low,Close\n31.01.2024,1,2,1,1\n30.02.2024,1,2,1,1\n", 3,
     "bad timestamp '30.02.2024': not a real date"),
    ("1704067200000,1,2,1,1,5,0,0,0,0,0,0\n1704070800000,1,2,1,1,5\n", 2,
     "expected 12 fields (timestamp, open, high, low, close, volume, -, -, -, -, -, -), "
     "found 6"),
])
def test_malformed_rows_name_file_line_and_reason(tmp_path: Path, text: str, line: int,
                                                  reason: str) -> None:
    path = tmp_path / "X_1d.csv"
    path.write_text(text)
    with pytest.raises(DataError) as caught:
        load_bars(path)
    assert caught.value.line == line
    assert reason in str(caught.value)


# --- the date parser ------------------------------------------------------------------------


def test_fixed_width_and_regex_paths_agree() -> None:
    # The same instants, equally long (sliced as a numpy array) and not (one regex each).
    fixed = ["02.01.2024 09:30", "29.02.2024 23:59", "31.12.1999 00:00"]
    loose = ["2.1.2024 09:30", "29.2.2024 23:59", "31.12.1999 00:00"]
    fmt = compile_format("%d.%m.%Y %H:%M")
    expected = [ns("2024-01-02T09:30"), ns("2024-02-29T23:59"), ns("1999-12-31T00:00")]
    assert parse_with(fixed, fmt).tolist() == expected
    assert parse_with(loose, fmt).tolist() == expected
    fractions = parse_with(["09:30:00.5", "09:30:00.123456789"],
                           compile_format("%H:%M:%S.%f"))
    assert fractions.tolist() == [34_200_500_000_000, 34_200_123_456_789]
    assert parse_with(["99-12-31", "00-01-01"], compile_format("%y-%m-%d")).tolist() == [
        ns("1999-12-31"), ns("2000-01-01")]


@pytest.mark.parametrize("bad", ["31.04.2024", "01.13.2024", "01.01.2024 24:00", "1.1.24"])
def test_impossible_dates_are_named(bad: str) -> None:
    fmt = compile_format("%d.%m.%Y %H:%M" if " " in bad else "%d.%m.%Y")
    with pytest.raises(_BadValue) as caught:
        parse_with(["01.01.2024" + (" 00:00" if " " in bad else ""), bad], fmt)
    assert caught.value.index == 1 and caught.value.value == bad


def test_localize_matches_zoneinfo_hour_by_hour() -> None:
    berlin = zone("Europe/Berlin")
    local = np.arange(ns("2024-10-26"), ns("2024-10-29"), 3_600_000_000_000, dtype=np.int64)
    epoch = datetime(1970, 1, 1)
    expected = [datetime_to_ns((epoch + timedelta(microseconds=int(v) // 1000))
                               .replace(tzinfo=berlin)) for v in local]
    assert localize(local, berlin).tolist() == expected
