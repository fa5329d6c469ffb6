"""Monthly and weekly bars in files: 1mo is inferred by calendar month, however keyed."""

from __future__ import annotations

from pathlib import Path

import pytest

from trading_strategy.core.errors import DataError
from trading_strategy.core.instrument import Calendar
from trading_strategy.market_data.files import load_bars

HEADER = "timestamp,open,high,low,close,volume\n"


def _write(tmp_path: Path, dates: list[str], name: str = "BTC_x.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{d},10,11,9,10.5,1\n" for d in dates))
    return path


@pytest.mark.parametrize("dates", [
    ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"],  # month ends (BTCUSD_1mo.csv)
    ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"],  # month starts
    ["2024-01-31", "2024-02-26", "2024-03-28", "2024-04-30"],  # last trading days
])
def test_monthly_bars_are_inferred_however_keyed(tmp_path: Path, dates: list[str]) -> None:
    bars = load_bars(_write(tmp_path, dates)).bars
    assert str(bars.timeframe) == "1mo"
    assert str(load_bars(_write(tmp_path, dates), timeframe="1mo").bars.timeframe) == "1mo"


def test_quarters_and_a_missing_month(tmp_path: Path) -> None:
    quarters = ["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"]
    assert str(load_bars(_write(tmp_path, quarters)).bars.timeframe) == "3mo"
    sparse = ["2024-01-01", "2024-02-01", "2024-04-01", "2024-05-01"]
    assert str(load_bars(_write(tmp_path, sparse), timeframe="1mo").bars.timeframe) == "1mo"


def test_daily_and_weekly_bars_are_not_monthly(tmp_path: Path) -> None:
    weeks = ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]
    assert str(load_bars(_write(tmp_path, weeks)).bars.timeframe) == "1w"
    with pytest.raises(DataError, match="monthly bars need one bar per calendar month"):
        load_bars(_write(tmp_path, weeks), timeframe="1mo")
    months = ["2024-01-31", "2024-02-29", "2024-03-31"]
    with pytest.raises(DataError, match=r"or 1mo: calendar months"):
        load_bars(_write(tmp_path, months), timeframe="1w")
    with pytest.raises(DataError, match="pass timeframe '1mo'"):
        load_bars(_write(tmp_path, months), timeframe="2mo")


def test_the_shared_btc_monthly_file_loads() -> None:
    path = Path("/work/shared/data/BTCUSD_1mo.csv")
    if not path.exists():
        pytest.skip("shared data not present")
    bars = load_bars(path).bars
    assert (str(bars.timeframe), len(bars)) == ("1mo", 156)
    assert bars.instrument.calendar is Calendar.ALWAYS
    assert bars.instrument.calendar.periods_per_year(bars.timeframe) == 12
