"""A short that rallies past the account's equity wipes it out: the run still reports."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from trading_strategy.backtesting.html_report import render_html
from trading_strategy.backtesting.report import build_report
from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.cli.summary import format_summary
from trading_strategy.core.enums import Side
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted


def test_a_wiped_out_account_has_a_report(tmp_path: Path) -> None:
    closes = [50, 50, 50, 120, 200, 200, 200]
    bars = make_bars(closes)

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.submit_order(Side.SELL, Decimal(300))  # 15,000 short on 10,000 of cash

    result = run_backtest(scripted(on_bar), bars,
                          BacktestSettings(size=SizeSpec.parse("all-in")),
                          allow_short_history=True)
    m = result.metrics
    assert result.equity[-1] < 0  # 10,000 + 300 × (50 − 200) = −35,000
    assert m.turnover is None or m.turnover > 0
    assert m.max_drawdown > 1.0
    assert m.sharpe is None
    report = build_report(result)
    json.dumps(report, allow_nan=False)
    assert "Total return" in format_summary(report)
    times = [point["time"] for point in report["equity_curve"]]
    page = render_html(report, price_time=times, price_close=[float(c) for c in closes])
    assert "Max drawdown" in page
