"""Kelly sizing in a real backtest (issue 8 item 4): GOOG sma_crossover trades, sized at the
warm-up fraction first and then from its own closed trades, and every size matches an
independent computation from the report."""

from __future__ import annotations

import math

import numpy as np

from trading_strategy.backtesting.report import build_report
from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.market_data.files import load_bars
from trading_strategy.risk import RiskSettings


def test_kelly_trades_goog_and_learns_from_its_trades() -> None:
    bars = load_bars("GOOG").bars
    risk = RiskSettings(sizing_method="kelly", kelly_fraction=0.5, kelly_max_pct=20,
                        kelly_min_trades=10)
    report = build_report(run_backtest("sma_crossover", bars, BacktestSettings(), risk=risk))
    assert report["risk"]["verdicts"].get("rejected:zero_size", 0) == 0
    trades = report["trades"]
    assert len(trades) > 20  # it used to be 0: every entry was refused as zero_size
    times = [p["time"] for p in report["equity_curve"]]
    equity = np.array([p["equity"] for p in report["equity_curve"]])
    close = bars.close
    learned = 0
    for k, trade in enumerate(trades):
        d = times.index(trade["entry_time"]) - 1  # decided on the previous close
        returns = np.array([t["return"] for t in trades[:k]])  # all closed by then
        if k < 10:
            fraction = 0.5 * 0.20  # warm-up: kelly_fraction × kelly_max_pct
        else:
            wins, losses = returns[returns > 0], -returns[returns < 0]
            p = wins.size / returns.size
            b = wins.mean() / losses.mean() if losses.size else math.inf
            fraction = min(0.5 * (p - (1 - p) / b), 0.20)
            learned += 1
        if fraction <= 0:
            continue
        expected = equity[d] * fraction / close[d]
        # floor of the exact value; 1e-6 guards the float estimate of p and b
        assert trade["quantity"] in (math.floor(expected), math.floor(expected - 1e-6)), (
            k, trade, expected)
    assert learned > 10
