"""A drawdown halt closes the position (issue 8 item 7), and the report says how deep the
drawdown went after the halt.

GOOG with ``max_drawdown_pct = 15``: sma_crossover holds 93 shares when the equity closes
15.2 % below its peak on 2006-01-20. Before the fix the halt kept the position (the default
was ``flatten_on_halt = false``) and it rode on until the strategy's own exit days later.
"""

from __future__ import annotations

import numpy as np

from trading_strategy.backtesting.report import build_report
from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.market_data.files import load_bars
from trading_strategy.risk import RiskSettings


def _run(**risk: object):  # type: ignore[no-untyped-def]
    bars = load_bars("GOOG").bars
    result = run_backtest("sma_crossover", bars, BacktestSettings(),
                          risk=RiskSettings(max_drawdown_pct=15, **risk))
    return result, build_report(result)


def _halt(report: dict) -> tuple[int, dict]:  # type: ignore[type-arg]
    [halt] = [e for e in report["risk"]["halts"] if e["state"] == "halted"]
    times = [p["time"] for p in report["equity_curve"]]
    return times.index(halt["time"]), halt


def test_the_default_halt_flattens_at_the_next_open() -> None:
    result, report = _run()
    i, halt = _halt(report)
    position = result.engine.position_curve
    assert position[i] != 0, "the halt must bind while a position is held"
    # decided on the halting bar's close, filled at the next bar's open: flat from bar i+1
    assert position[i + 1] == 0 and not position[i + 1:].any()
    assert halt["flatten"] is True
    assert halt["flat_time"] == report["equity_curve"][i + 1]["time"]
    assert report["risk"]["verdicts"].get("accepted", 0) > 0
    fills = result.engine.state.fills
    # the flattening sell is the only fill after the halt
    assert [f.bar_index for f in fills if f.bar_index > i] == [i + 1]


def test_the_report_shows_the_drawdown_reached_after_the_halt() -> None:
    for flatten in (True, False):
        _, report = _run(flatten_on_halt=flatten)
        i, halt = _halt(report)
        # independent: the curve's own peak up to the halt and its low from the halt on
        equity = np.array([p["equity"] for p in report["equity_curve"]])
        peak = equity[: i + 1].max()
        assert abs(halt["drawdown"] - (peak - equity[i]) / peak) < 1e-12
        assert halt["drawdown"] >= 0.15
        after = (peak - equity[i:].min()) / peak
        assert abs(halt["max_drawdown_after"] - after) < 1e-12
        assert halt["max_drawdown_after"] >= halt["drawdown"]


def test_flatten_on_halt_false_keeps_the_position() -> None:
    result, report = _run(flatten_on_halt=False)
    i, halt = _halt(report)
    assert halt["flatten"] is False
    assert result.engine.position_curve[i + 1] != 0  # kept (with its stops, if any)
    # the strategy's own exit still passes the gate: it only reduces the position
    assert halt["flat_time"] is not None and halt["flat_time"] > report["equity_curve"][i + 1][
        "time"]
