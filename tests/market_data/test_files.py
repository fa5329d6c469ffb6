"""Loading CSV and Parquet files: rejections with file and line, repair, inference."""

from __future__ import annotations

import gzip
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from trading_strategy.core.bars import datetime_to_ns
from trading_strategy.core.errors import DataError
from trading_strategy.core.instrument import AssetClass, Calendar
from trading_strategy.market_data.files import LoadResult, load_bars

HEADER = "timestamp,open,high,low,close,volume\n"
R1 = "2024-01-02,10,11,9,10.5,100\n"
R2 = "2024-01-03,10.5,12,10,11,200\n"
R3 = "2024-01-04,11,12,10.5,11.5,300\n"
GOOD = HEADER + R1 + R2 + R3


def write(tmp_path: Path, text: str, name: str = "TEST_1d.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def ns(text: str) -> int:
    return datetime_to_ns(datetime.fromisoformat(text))


def load(path: Path, **options: object) -> LoadResult:
    return load_bars(str(path), **options)  # type: ignore[arg-type]


# --- rejections -------------------------------------------------------------------------

BAD_FILES = [
    ("empty", "", 1, "file is empty"),
    ("blank lines only", "\n\n\n", 1, "file is empty"),
    ("header only", HEADER, 2, "no data rows after the header"),
    (
        "missing columns",
        "timestamp,open,close\n2024-01-02,10,10.5\n",
        1,
        "missing columns high, low; found timestamp, open, close",
    ),
    ("no header", R1 + R2, 1, "a header line is required"),
    (
        "too few fields",
        HEADER + R1 + "2024-01-03,10.5,12,10\n" + R3,
        3,
        "expected 6 fields as in the header, found 4: '2024-01-03,10.5,12,10'",
    ),
    ("too many fields", HEADER + R1 + R2.strip() + ",7\n", 3, "found 7"),
    ("bad number", HEADER + R1 + "2024-01-03,10.5,abc,10,11,200\n", 3, "high: 'abc'"),
    ("empty number", HEADER + R1 + "2024-01-03,10.5,12,10,,200\n", 3, "close: ''"),
    ("bad volume", HEADER + R1 + "2024-01-03,10.5,12,10,11,1e\n", 3, "volume: '1e'"),
    ("bad date", HEADER + R1 + "2024-13-45,10.5,12,10,11,200\n", 3, "timestamp '2024-13-45'"),
    ("year out of range", HEADER + R1 + "2500-01-03,10.5,12,10,11,200\n", 3, "out of range"),
    ("bad word date", HEADER + R1 + "now,10.5,12,10,11,200\n", 3, "bad timestamp 'now'"),
    ("unknown time column", "ts,open,high,low,close\n", 1, "missing column timestamp; found ts"),
    (
        "epoch then text",
        "time,open,high,low,close\n1704153600,10,11,9,10\n2024-01-03,10,11,9,10\n",
        3,
        "bad timestamp '2024-01-03': expected an integer epoch",
    ),
    ("NaN price", HEADER + R1 + "2024-01-03,nan,12,10,11,200\n", 3, "open is NaN"),
    ("infinite price", HEADER + R1 + "2024-01-03,10.5,inf,10,11,200\n", 3, "high is infinite"),
    ("negative price", HEADER + R1 + "2024-01-03,10.5,12,-10,11,200\n", 3, "low is negative"),
    ("zero price", HEADER + R1 + "2024-01-03,10.5,12,10,0,200\n", 3, "close is zero"),
    ("negative volume", HEADER + R1 + "2024-01-03,10.5,12,10,11,-2\n", 3, "volume is negative"),
    (
        "high below open",
        HEADER + R1 + "2024-01-03,12.5,12,10,11,200\n",
        3,
        "high 12.0 is below open 12.5",
    ),
    (
        "low above close",
        HEADER + R1 + "2024-01-03,11.5,12,10.8,10.5,200\n",
        3,
        "low 10.8 is above close 10.5",
    ),
    ("high below low", HEADER + R1 + "2024-01-03,10.5,9,10,9.5,200\n", 3, "high 9.0 is below low"),
    (
        "duplicate timestamp",
        GOOD + "2024-01-04,11,12,10.5,11.5,300\n",
        5,
        "duplicate timestamp 2024-01-04T00:00:00Z",
    ),
    (
        "out of order",
        HEADER + R1 + R3 + R2,
        4,
        "timestamp 2024-01-03T00:00:00Z is earlier than the previous row's 2024-01-04",
    ),
    ("blank lines count", HEADER + R1 + "\n\n" + "2024-01-03,nan,1,1,1,1\n", 5, "open is NaN"),
    (
        "quoted field spanning lines",
        "timestamp,open,high,low,close,volume,note\n"
        '2024-01-02,10,11,9,10.5,100,"two\nlines"\n'
        "2024-01-03,10.5,abc,10,11,200,x\n",
        4,
        "high: 'abc'",
    ),
    (
        "earliest line wins within the file read",
        HEADER + R1 + "2024-01-03,10.5,12,10\n" + "bad,1,1,1,1,1\n",
        3,
        "expected 6 fields",
    ),
    (
        "bad timestamp before bad number",
        HEADER + R1 + "2024-99-03,10.5,12,10,11,1\n" + "2024-01-04,x,12,10,11,1\n",
        3,
        "bad timestamp",
    ),
]


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_rejection_names_file_line_and_reason(
    tmp_path: Path, content: str, line: int, reason: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(DataError) as caught:
        load(path)
    message = str(caught.value)
    assert caught.value.line == line
    assert f"TEST_1d.csv:{line}: " in message
    assert reason in message


def test_order_errors_suggest_repair(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"repair=True sorts rows"):
        load(write(tmp_path, HEADER + R2 + R1))


def test_bad_row_in_a_later_batch_has_the_right_line(tmp_path: Path) -> None:
    rows = [
        f"{datetime.fromtimestamp(i * 60, UTC):%Y-%m-%dT%H:%M}Z,1,2,1,1,0\n" for i in range(50_000)
    ]
    rows[39_999] = rows[39_999].replace(",2,", ",oops,")
    path = write(tmp_path, HEADER + "".join(rows))
    with pytest.raises(DataError) as caught:
        load(path)
    assert caught.value.line == 40_001
    assert "'oops'" in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        load(tmp_path / "nope.csv")


def test_directory_and_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a regular file"):
        load(tmp_path)
    with pytest.raises(DataError, match=r"unsupported file type '\.json'"):
        load(write(tmp_path, GOOD, name="bars.json"))


def test_bad_gzip(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"x\.csv\.gz: cannot read the file"):
        load(write(tmp_path, GOOD, name="x.csv.gz"))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER.encode() + "2024-01-02,1,1,1,1,1 \xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8 text"):
        load(path)


# --- repair -----------------------------------------------------------------------------


def test_repair_sorts_and_dedups_with_warnings(tmp_path: Path) -> None:
    text = HEADER + R3 + R1 + R2 + "2024-01-02,10,11,9,10.25,150\n" + R3
    result = load(write(tmp_path, text), repair=True)
    bars = result.bars
    assert bars.ts.tolist() == [ns("2024-01-02"), ns("2024-01-03"), ns("2024-01-04")]
    assert bars.close.tolist() == [10.25, 11.0, 11.5]  # the last 2024-01-02 row wins
    assert bars.volume.tolist() == [150.0, 200.0, 300.0]
    assert result.warnings == [
        "repaired: sorted 2 out-of-order rows",
        "repaired: dropped 2 duplicate timestamps (kept the last row of each; "
        "1 had different values)",
    ]


def test_repair_never_fixes_bad_values(tmp_path: Path) -> None:
    text = HEADER + R3 + R1 + "2024-01-03,nan,12,10,11,200\n"
    with pytest.raises(DataError) as caught:
        load(write(tmp_path, text), repair=True)
    assert caught.value.line == 4  # the line in the file, not after sorting
    assert "open is NaN" in str(caught.value)


def test_repair_of_good_file_warns_nothing(tmp_path: Path) -> None:
    assert load(write(tmp_path, GOOD), repair=True).warnings == []


# --- good files -------------------------------------------------------------------------


def test_good_file_round_trip(tmp_path: Path) -> None:
    result = load(write(tmp_path, GOOD, name="goog_1d.csv"))
    bars = result.bars
    assert result.warnings == []
    assert result.source.endswith("goog_1d.csv")
    assert bars.ts.dtype == np.int64
    assert bars.ts.tolist() == [ns("2024-01-02"), ns("2024-01-03"), ns("2024-01-04")]
    assert bars.open.tolist() == [10.0, 10.5, 11.0]
    assert bars.high.tolist() == [11.0, 12.0, 12.0]
    assert bars.low.tolist() == [9.0, 10.0, 10.5]
    assert bars.close.tolist() == [10.5, 11.0, 11.5]
    assert bars.volume.tolist() == [100.0, 200.0, 300.0]
    assert str(bars.timeframe) == "1d"
    instrument = bars.instrument
    assert instrument.symbol == "GOOG"
    assert instrument.tick_size == Decimal("0.1")
    assert instrument.lot_size == Decimal("1")
    assert (instrument.asset_class, instrument.calendar) == (AssetClass.EQUITY, Calendar.XNYS)


def test_header_is_flexible(tmp_path: Path) -> None:
    text = "\ufeff Date ,Close,HIGH,Low,Open,Extra\n2024-01-02,10.5,11,9,10,x\n"
    text += "2024-01-03,11,12,10,10.5,y\n"
    bars = load(write(tmp_path, text, name="x.csv")).bars
    assert bars.open.tolist() == [10.0, 10.5]
    assert bars.close.tolist() == [10.5, 11.0]
    assert bars.volume.tolist() == [0.0, 0.0]  # volume is optional


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    bars = load(write(tmp_path, "\n" + HEADER + R1 + "\n" + R2 + R3 + "\n\n")).bars
    assert len(bars) == 3


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        (["2024-01-02", "2024-01-03"], ["2024-01-02T00:00", "2024-01-03T00:00"]),
        (
            ["2024-01-02T09:00:00Z", "2024-01-02T10:00:00Z"],
            ["2024-01-02T09:00", "2024-01-02T10:00"],
        ),
        (
            ["2024-01-02T09:00:00", "2024-01-02T10:00:00"],  # naive means UTC
            ["2024-01-02T09:00", "2024-01-02T10:00"],
        ),
        (
            ["2024-01-02 09:00:00+02:00", "2024-01-02 10:00:00+02:00"],
            ["2024-01-02T07:00", "2024-01-02T08:00"],
        ),
        (
            ["2024-03-30T12:00:00+01:00", "2024-03-31T12:00:00+02:00"],  # DST change
            ["2024-03-30T11:00", "2024-03-31T10:00"],
        ),
        (
            ["2024-01-02T09:00:00-05:00", "2024-01-02T10:00:00Z"],  # mixed: per-row parse
            ["2024-01-02T14:00", "2024-01-02T10:00"],
        ),
        (
            ["2024-01-02T09:00:00+0200", "2024-01-02T10:00:00+0200"],
            ["2024-01-02T07:00", "2024-01-02T08:00"],
        ),
        (["1704186000", "1704189600"], ["2024-01-02T09:00", "2024-01-02T10:00"]),  # seconds
        (["1704186000000", "1704189600000"], ["2024-01-02T09:00", "2024-01-02T10:00"]),  # ms
        (["20240102", "20240103"], ["2024-01-02T00:00", "2024-01-03T00:00"]),  # YYYYMMDD
    ],
)
def test_timestamp_formats(tmp_path: Path, stamps: list[str], expected: list[str]) -> None:
    text = "time,open,high,low,close\n" + "".join(f"{s},1,1,1,1\n" for s in stamps)
    # Out-of-order results (the mixed case) are allowed here: we only check parsing.
    bars = load(write(tmp_path, text, name="x.csv"), repair=True).bars
    assert sorted(bars.ts.tolist()) == sorted(ns(e + "+00:00") for e in expected)


def test_tick_size_inference_and_override(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02,1.07160,1.07220,1.07083,1.07219,5\n"
    text += "2024-01-03,1.0722,1.0730,1.0721,1.0726,5\n"
    path = write(tmp_path, text, name="EURUSD_1d.csv")
    assert load(path).bars.instrument.tick_size == Decimal("0.00001")
    forced = load(path, tick_size=Decimal("0.0001"), lot_size=Decimal("1000"))
    assert forced.bars.instrument.tick_size == Decimal("0.0001")
    assert forced.bars.instrument.lot_size == Decimal("1000")
    assert forced.warnings == [
        "prices have up to 5 decimals but tick_size is 0.0001: "
        "orders and reports will round them to the tick"
    ]


def test_tick_size_is_capped_at_eight_decimals(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02,0.1234567891,0.2,0.1,0.15,1\n2024-01-03,0.1,0.2,0.1,0.15,1\n"
    assert load(write(tmp_path, text)).bars.instrument.tick_size == Decimal("0.00000001")


def test_symbol_from_argument_or_file_name(tmp_path: Path) -> None:
    assert load(write(tmp_path, GOOD, name="spy.csv")).bars.instrument.symbol == "SPY"
    assert load(write(tmp_path, GOOD, name="Btc-usd_1h_x.csv")).bars.instrument.symbol == (
        "BTC-USD"
    )
    path = write(tmp_path, GOOD, name="anything.csv")
    assert load(path, symbol="QQQ").bars.instrument.symbol == "QQQ"


def _hourly(hours: int, start: str = "2024-01-01T00:00:00") -> str:
    begin = ns(start + "+00:00") // 10**9
    rows = [
        f"{datetime.fromtimestamp(begin + h * 3600, UTC).isoformat()},1,1,1,1,1\n"
        for h in range(hours)
    ]
    return HEADER + "".join(rows)


def test_timeframe_inferred_and_checked(tmp_path: Path) -> None:
    path = write(tmp_path, _hourly(48), name="x.csv")
    assert str(load(path).bars.timeframe) == "1h"
    assert str(load(path, timeframe="60m").bars.timeframe) == "60m"
    with pytest.raises(DataError) as caught:
        load(path, timeframe="1d")
    assert "timeframe 1d does not match" in str(caught.value)
    assert "1h apart" in str(caught.value)


def test_single_bar_needs_a_timeframe(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + R1)
    with pytest.raises(DataError, match="cannot infer the timeframe from a single bar"):
        load(path)
    assert len(load_bars(path, timeframe="1d").bars) == 1  # a Path works too


def test_weekend_intraday_bars_mean_crypto(tmp_path: Path) -> None:
    # 2024-01-01 is a Monday: a full week of hours covers Saturday and Sunday.
    bars = load(write(tmp_path, _hourly(24 * 7), name="BTCUSDT_1h.csv")).bars
    assert (bars.instrument.asset_class, bars.instrument.calendar) == (
        AssetClass.CRYPTO,
        Calendar.ALWAYS,
    )
    assert bars.instrument.currency == "USDT"
    # Monday to Friday around the clock: a 24/5 market (FX in a broker's server time)
    weekdays = load(write(tmp_path, _hourly(24 * 5), name="x.csv")).bars
    assert (weekdays.instrument.asset_class, weekdays.instrument.calendar) == (
        AssetClass.FX, Calendar.FX)
    # Monday to Friday in a US session's hours (14:00-21:00 UTC): US equities
    session = "".join(line for line in _hourly(24 * 5).splitlines(keepends=True)[1:]
                      if 14 <= int(line[11:13]) <= 20)
    equity = load(write(tmp_path, HEADER + session, name="y.csv"), timeframe="1h").bars
    assert (equity.instrument.asset_class, equity.instrument.calendar) == (
        AssetClass.EQUITY, Calendar.XNYS)


def test_gzip_csv(tmp_path: Path) -> None:
    path = tmp_path / "GOOG_1d.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write(GOOD)
    bars = load(path).bars
    assert bars.instrument.symbol == "GOOG"
    assert bars.close.tolist() == [10.5, 11.0, 11.5]


def test_csv_load_does_not_import_pyarrow(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    code = (
        "import sys\n"
        "from trading_strategy.market_data.files import load_bars\n"
        f"load_bars({str(path)!r}); load_bars('GOOG')\n"
        "assert 'pyarrow' not in sys.modules, 'pyarrow imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_a_million_rows_load(tmp_path: Path) -> None:
    # How fast is measured in bench/ingest.py (timing targets do not belong in unit tests).
    n = 1_000_000
    stamps = (np.datetime64("2020-01-01T00:00") + np.arange(n).astype("timedelta64[m]")).astype(str)
    close = np.round(100 + np.sin(np.arange(n) / 500.0), 4).astype(str)
    lines = [
        f"{s}Z,{c},{c},{c},{c},7\n" for s, c in zip(stamps.tolist(), close.tolist(), strict=True)
    ]
    path = write(tmp_path, HEADER + "".join(lines), name="BIG_1m.csv")
    bars = load(path).bars
    assert len(bars) == n
    assert str(bars.timeframe) == "1m"
    assert bars.instrument.tick_size == Decimal("0.0001")


# --- Parquet ----------------------------------------------------------------------------


def _parquet(tmp_path: Path, columns: dict[str, object], name: str = "ETH_1h.parquet") -> Path:
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / name
    pq.write_table(pytest.importorskip("pyarrow").table(columns), path)
    return path


def _ohlcv(n: int) -> dict[str, object]:
    close = [100.0 + i * 0.25 for i in range(n)]
    return {
        "Open": close,
        "High": [c + 1 for c in close],
        "Low": [c - 1 for c in close],
        "Close": close,
        "Volume": [float(i) for i in range(n)],
    }


def test_parquet_round_trip_with_timestamp_type(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    start = datetime(2024, 1, 6, tzinfo=UTC)  # a Saturday
    stamps = [start.timestamp() + 3600 * i for i in range(30)]
    times = pa.array(
        [datetime.fromtimestamp(s, UTC) for s in stamps], type=pa.timestamp("us", tz="UTC")
    )
    path = _parquet(tmp_path, {"timestamp": times, **_ohlcv(30)})
    bars = load(path).bars
    assert bars.ts.tolist() == [int(s) * 10**9 for s in stamps]
    assert bars.close.tolist() == [100.0 + i * 0.25 for i in range(30)]
    assert bars.volume.tolist() == [float(i) for i in range(30)]
    assert str(bars.timeframe) == "1h"
    assert bars.instrument.symbol == "ETH"
    assert bars.instrument.tick_size == Decimal("0.01")
    assert bars.instrument.asset_class is AssetClass.CRYPTO  # Saturday and Sunday bars


@pytest.mark.parametrize("kind", ["epoch_ms", "text", "date", "offset_timestamp"])
def test_parquet_timestamp_kinds(tmp_path: Path, kind: str) -> None:
    pa = pytest.importorskip("pyarrow")
    days = [datetime(2024, 1, d, tzinfo=UTC) for d in (2, 3, 4)]
    values: object
    if kind == "epoch_ms":
        values = [int(d.timestamp() * 1000) for d in days]
    elif kind == "text":
        values = [d.date().isoformat() for d in days]
    elif kind == "date":
        values = [d.date() for d in days]
    else:
        values = pa.array(days, type=pa.timestamp("s", tz="Europe/Berlin"))
    bars = load(_parquet(tmp_path, {"date": values, **_ohlcv(3)})).bars
    assert bars.ts.tolist() == [datetime_to_ns(d) for d in days]
    assert str(bars.timeframe) == "1d"


def test_parquet_bad_rows_name_the_row(tmp_path: Path) -> None:
    columns = {"timestamp": [1_704_153_600 + 86_400 * i for i in range(3)], **_ohlcv(3)}
    columns["Open"] = [100.0, float("nan"), 100.5]
    with pytest.raises(DataError, match=r"ETH_1h\.parquet: row 2: open is NaN"):
        load(_parquet(tmp_path, columns))
    columns["Open"] = [100.0, None, 100.5]
    with pytest.raises(DataError, match=r"row 2: Open is missing \(null\)"):
        load(_parquet(tmp_path, columns))


def test_parquet_missing_column_and_bad_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing column timestamp; found Open"):
        load(_parquet(tmp_path, _ohlcv(3)))
    with pytest.raises(DataError, match="not a readable Parquet file"):
        load(write(tmp_path, GOOD, name="fake.parquet"))


# --- prices as whole ticks (rule 7) -----------------------------------------------------
# Regression: "2024-01-03,1e-9,..." made the inferred tick 1e-8 and the bar 0 ticks, which
# was stored and traded; 1e308 passed the loader and overflowed int64 in the engine.


@pytest.mark.parametrize(
    ("row", "options", "reason"),
    [
        ("2024-01-03,1e-9,1e-9,1e-9,1e-9,1\n", {},
         "open 1e-09 rounds to 0 at tick size 0.00000001"),
        ("2024-01-03,10.5,12,0.004,11,1\n", {"tick_size": Decimal("0.01")},
         "low 0.004 rounds to 0 at tick size 0.01"),
        ("2024-01-03,1e308,1e308,1e308,1e308,1\n", {},
         "open 1e+308 is too large: at tick size 0.1 prices must be below 9.007e+14"),
        ("2024-01-03,10.5,12,10,11,1e300\n", {},
         "volume 1e+300 is too large"),
    ],
)
def test_prices_that_cannot_be_whole_ticks_are_rejected_with_their_line(
    tmp_path: Path, row: str, options: dict[str, object], reason: str
) -> None:
    path = write(tmp_path, HEADER + R1 + row + R3)
    with pytest.raises(DataError) as caught:
        load(path, **options)
    assert str(caught.value).startswith(f"{path}:3: {reason}")


def test_a_sample_with_a_coarser_tick_that_zeroes_prices_is_rejected() -> None:
    with pytest.raises(DataError) as caught:
        load_bars("EURUSD", tick_size=Decimal("100"))
    assert "rounds to 0 at tick size 100" in str(caught.value)
    assert ":2: " in str(caught.value)


def test_an_invalid_tick_size_is_a_config_error(tmp_path: Path) -> None:
    from trading_strategy.core.errors import ConfigError

    with pytest.raises(ConfigError, match="tick_size must be > 0, got 0"):
        load(write(tmp_path, GOOD), tick_size=Decimal("0"))



@pytest.mark.parametrize("stamp", ["2024-01", "2024", "2024-01-0"])
def test_a_truncated_date_is_rejected_not_moved(tmp_path: Path, stamp: str) -> None:
    # Found by bench/fuzz_csv.py: numpy read "2024-01" as 2024-01-01, so a truncated date
    # silently moved its bar to the first of the month.
    path = write(tmp_path, HEADER + R1 + f"{stamp},10.5,12,10,11,200\n" + R3)
    with pytest.raises(DataError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}:3: bad timestamp {stamp!r}")
