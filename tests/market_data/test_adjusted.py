"""Files with adjusted prices (Yahoo's "Adj Close" and its siblings) load adjusted.

Regression: a Yahoo export ``Date,Open,High,Low,Close,Adj Close,Volume`` used to load the
raw ``Close`` and drop ``Adj Close``, so AAPL's 2:1 split of 2000-06-21 became a 50% crash.
The excerpt below is real: raw prices from the bundled data's source and the adjusted close
of the same days (open/high/low/close as traded, adjusted close for splits and dividends).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from trading_strategy.core.errors import DataError
from trading_strategy.market_data.files import load_bars

YAHOO_HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
# AAPL 2000-06-15 .. 2000-06-29 around the 2:1 split on 2000-06-21.
YAHOO_ROWS = """\
2000-06-15,91.25,93.37,89.0,92.37,2.9677,2219400
2000-06-16,93.5,93.75,89.06,91.19,2.9298,2710400
2000-06-19,90.56,97.87,89.81,96.62,3.1043,3517900
2000-06-20,98.5,103.94,98.37,101.25,3.253,4476700
2000-06-21,50.5,56.94,50.31,55.63,3.5746,4375000
2000-06-22,55.75,57.63,53.56,53.75,3.4538,8352000
2000-06-23,53.78,54.63,50.81,51.69,3.3214,3660100
2000-06-26,52.5,54.75,52.13,54.13,3.4782,3309900
2000-06-27,53.78,55.5,51.63,51.75,3.3253,3633400
2000-06-28,53.31,55.38,51.5,54.44,3.4981,5114800
2000-06-29,53.06,53.94,51.06,51.25,3.2932,3636800
"""


def write(tmp_path: Path, text: str, name: str = "AAPL_1d.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def expected_adjusted() -> dict[str, list[float]]:
    """An independent computation in Decimal: price * adj_close / close, to 4 decimals."""
    out: dict[str, list[float]] = {"open": [], "high": [], "low": [], "close": []}
    quantum = Decimal("0.0001")
    for line in YAHOO_ROWS.splitlines():
        _, o, h, lo, c, adj, _ = line.split(",")
        ratio = Decimal(adj) / Decimal(c)
        for name, raw in (("open", o), ("high", h), ("low", lo)):
            out[name].append(float((Decimal(raw) * ratio).quantize(quantum, ROUND_HALF_EVEN)))
        out["close"].append(float(Decimal(adj)))
    return out


def test_yahoo_export_loads_adjusted_prices(tmp_path: Path) -> None:
    result = load_bars(write(tmp_path, YAHOO_HEADER + YAHOO_ROWS))
    bars = result.bars
    expected = expected_adjusted()
    for name in ("open", "high", "low", "close"):
        assert getattr(bars, name).tolist() == expected[name], name
    # The split day is a +9.9% day, not the raw -45% "crash".
    assert bars.close[4] / bars.close[3] == pytest.approx(3.5746 / 3.253)
    assert bars.volume.tolist()[:2] == [2219400.0, 2710400.0]  # volume as traded
    assert bars.instrument.tick_size == Decimal("0.0001")
    assert len(result.warnings) == 1
    assert "scaled by Adj Close / Close" in result.warnings[0]
    assert "11 of 11 bars differ" in result.warnings[0]


@pytest.mark.parametrize(
    "name",
    ["Adj Close", "adj_close", "Adj. Close", "adjclose", "ADJ CLOSE", "AdjClose",
     "adjusted_close", "Adjusted Close", "Adj Close**", " adj-close "],
)
def test_every_spelling_of_the_adjusted_close_is_applied(tmp_path: Path, name: str) -> None:
    header = YAHOO_HEADER.replace("Adj Close", name)
    bars = load_bars(write(tmp_path, header + YAHOO_ROWS)).bars
    assert bars.close.tolist() == expected_adjusted()["close"]


def test_a_full_set_of_adjusted_columns_is_used_as_is(tmp_path: Path) -> None:
    # Quandl's WIKI layout: adjusted open, high, low, close and volume next to the raw ones.
    text = (
        "Date,Open,High,Low,Close,Volume,Adj. Open,Adj. High,Adj. Low,Adj. Close,Adj. Volume\n"
        "2000-06-20,98.5,103.94,98.37,101.25,4476700,3.165,3.3398,3.1609,3.253,8953400\n"
        "2000-06-21,50.5,56.94,50.31,55.63,4375000,3.245,3.6588,3.2328,3.5746,8750000\n"
    )
    result = load_bars(write(tmp_path, text))
    bars = result.bars
    assert bars.open.tolist() == [3.165, 3.245]
    assert bars.high.tolist() == [3.3398, 3.6588]
    assert bars.low.tolist() == [3.1609, 3.2328]
    assert bars.close.tolist() == [3.253, 3.5746]
    assert bars.volume.tolist() == [8953400.0, 8750000.0]
    assert "Adj. Open, Adj. High, Adj. Low, Adj. Close used as the prices" in result.warnings[0]
    assert "volume from Adj. Volume" in result.warnings[0]


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("Date,Open,High,Low,Close,Adj Factor,Volume", "'Adj Factor'"),
        ("Date,Open,High,Low,Close,Adj Open,Volume", "'Adj Open'"),
    ],
)
def test_an_adjustment_we_cannot_apply_is_refused(tmp_path: Path, header: str,
                                                  named: str) -> None:
    text = header + "\n2000-06-20,98.5,103.94,98.37,101.25,3.253,4476700\n"
    with pytest.raises(DataError) as caught:
        load_bars(write(tmp_path, text))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'AAPL_1d.csv'}:1: ")
    assert named in message
    assert "remove the column to use the prices as they are" in message


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0", "Adj Close is zero (0.0); prices must be > 0"),
        ("-3.1", "Adj Close is negative (-3.1); prices must be > 0"),
        ("nan", "Adj Close is NaN"),
        ("", "bad number in column Adj Close: ''"),
    ],
)
def test_a_bad_adjusted_close_names_its_line(tmp_path: Path, value: str, reason: str) -> None:
    rows = YAHOO_ROWS.splitlines()
    cells = rows[4].split(",")
    cells[5] = value
    rows[4] = ",".join(cells)
    path = write(tmp_path, YAHOO_HEADER + "\n".join(rows) + "\n")
    with pytest.raises(DataError) as caught:
        load_bars(path)
    assert str(caught.value) == f"{path}:6: {reason}"


def test_a_bad_raw_row_is_reported_even_if_adjusting_would_hide_it(tmp_path: Path) -> None:
    # high 10.00 below low 10.01: scaled by 1/1000 and rounded both would read 0.01.
    text = YAHOO_HEADER + "2000-06-20,10.0,10.0,10.01,10.0,0.01,100\n"
    path = write(tmp_path, text)
    with pytest.raises(DataError) as caught:
        load_bars(path)
    assert str(caught.value) == f"{path}:2: high 10.0 is below low 10.01"


def test_adjusted_prices_that_round_to_zero_are_refused(tmp_path: Path) -> None:
    # A 1:1000 adjustment, the adjusted close given to 3 decimals: low 0.4 -> 0.0004 -> 0.
    text = YAHOO_HEADER + "2000-06-20,1.0,1.2,0.4,1.0,0.001,100\n"
    path = write(tmp_path, text)
    with pytest.raises(DataError) as caught:
        load_bars(path)
    assert str(caught.value) == (
        f"{path}:2: after adjusting (open, high, low and close scaled by Adj Close / Close "
        "(adjusted for splits and dividends)): low is zero (0.0); prices must be > 0"
    )


def test_parquet_with_an_adjusted_close_is_adjusted(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [line.split(",") for line in YAHOO_ROWS.splitlines()]
    table = pa.table({
        "Date": [row[0] for row in rows],
        **{name: [float(row[k]) for row in rows]
           for k, name in enumerate(("Open", "High", "Low", "Close", "Adj Close"), start=1)},
        "Volume": [int(row[6]) for row in rows],
    })
    path = tmp_path / "AAPL_1d.parquet"
    pq.write_table(table, path)
    bars = load_bars(path).bars
    assert bars.close.tolist() == expected_adjusted()["close"]
    assert bars.open.tolist() == expected_adjusted()["open"]


def test_an_adjusted_close_beyond_eight_decimals_is_rounded_with_the_others(
        tmp_path: Path) -> None:
    # Found by bench/fuzz_csv.py: the adjusted low was rounded to 8 decimals (3e-08) but the
    # close kept 2.9677e-08, so a valid bar was refused as "low above close".
    text = YAHOO_HEADER + ("2000-06-15,92.37,93.37,92.37,92.37,2.9677e-08,100\n"
                           "2000-06-16,92.37,93.37,92.37,92.37,2.9677e-08,100\n")
    bars = load_bars(write(tmp_path, text)).bars
    assert bars.low.tolist() == [3e-08, 3e-08]
    assert bars.close.tolist() == [3e-08, 3e-08]
    assert bars.instrument.tick_size == Decimal("0.00000001")


def test_a_huge_adjusted_price_is_too_large_not_infinite(
        tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    text = YAHOO_HEADER + "2000-06-15,1e308,1e308,91.25,92.37,2.9677,2219400\n"
    path = write(tmp_path, text)
    with pytest.raises(DataError) as caught:
        load_bars(path)
    assert str(caught.value).startswith(f"{path}:2: open 3.21")
    assert "is too large: at tick size" in str(caught.value)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
