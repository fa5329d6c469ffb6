"""FX exported in a broker's server time (GMT+2/+3, as MetaTrader does) opens its week on
Monday 00:00 and has no Sunday bar. Taken for US equities, its hourly bars outside the
New York session were refused (``market_closed``) and its ratios annualised with 1,764
bars a year instead of 6,240: the bundled EURUSD hours, their Sunday bars dropped, read
and backtested as FX."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from trading_strategy import Backtest
from trading_strategy.core.instrument import AssetClass, Calendar

SAMPLE = (Path(__file__).resolve().parents[2] / "src" / "trading_strategy" / "data"
          / "samples" / "EURUSD_1h.csv")


def _without_sundays(tmp_path: Path) -> Path:
    head, *rows = SAMPLE.read_text().splitlines()
    kept = [row for row in rows
            if datetime.fromisoformat(row.split(",")[0].replace("Z", "+00:00"))
            .astimezone(UTC).weekday() != 6]
    assert 0 < len(kept) < len(rows)  # the sample has Sunday bars to drop
    path = tmp_path / "EURUSD_1h.csv"
    path.write_text("\n".join([head, *kept]) + "\n")
    return path


def test_weekday_only_fx_hours_are_fx(tmp_path: Path) -> None:
    backtest = Backtest(_without_sundays(tmp_path), "sma_crossover",
                        allow_short_history=True, store=False)
    inst = backtest.bars.instrument
    assert (inst.asset_class, inst.calendar) == (AssetClass.FX, Calendar.FX)
    report = backtest.run().report
    assert report["orders"]["rejections"] == {}
    assert report["orders"]["submitted"] == report["orders"]["filled"] > 0
    assert report["settings"]["annualisation"]["periods_per_year"] == 6240
