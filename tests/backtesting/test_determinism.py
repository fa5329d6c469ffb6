"""The report (keys, open trades, equity at the close), determinism, indicator modes, history.

The bundled GOOG sample is read here with numpy (not through the data loader), so these
tests depend only on the engine and the report.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trading_strategy
from trading_strategy.backtesting import report
from trading_strategy.backtesting.runner import (
    BacktestResult,
    InsufficientHistoryError,
    run_backtest,
)
from trading_strategy.backtesting.settings import BacktestSettings, IndicatorMode
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import UserError
from trading_strategy.core.instrument import Calendar, Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.kernel.costs import FixedBpsSlippage, PercentCommission
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted

D = Decimal
GOOG_CSV = Path(trading_strategy.__file__).parent / "data" / "samples" / "GOOG_1d.csv"
STRATEGIES = ["sma_crossover", "rsi_reversion", "donchian_breakout"]


@cache
def goog() -> BarSeries:
    with GOOG_CSV.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["timestamp", "open", "high", "low", "close", "volume"]
    body = rows[1:]
    ts = np.array([r[0] for r in body], dtype="datetime64[ns]").astype(np.int64)
    cols = np.array([[float(x) for x in r[1:]] for r in body], dtype=np.float64)
    inst = Instrument("GOOG", tick_size=D("0.0001"), calendar=Calendar.XNYS)
    return BarSeries(inst, Timeframe.parse("1d"), ts, cols[:, 0].copy(), cols[:, 1].copy(),
                     cols[:, 2].copy(), cols[:, 3].copy(), cols[:, 4].copy())


COSTS = BacktestSettings(commission=PercentCommission(D("0.001")),
                         slippage=FixedBpsSlippage(D("2")))


def goog_report_text(strategy: str, settings: BacktestSettings = COSTS) -> str:
    return report.dumps(report.build_report(run_backtest(strategy, goog(), settings)))


def run(on_bar: Callable[[Context, int], None], bars: BarSeries, **settings: Any
        ) -> BacktestResult:
    return run_backtest(scripted(on_bar), bars, BacktestSettings(**settings),
                        allow_short_history=True)


# --------------------------------------------------------------------------- report shape

TOP_KEYS = {"strategy", "params", "data", "settings", "metrics", "trades", "equity_curve"}
METRIC_KEYS = {"total_return", "cagr", "volatility", "sharpe", "sortino", "calmar",
               "max_drawdown", "max_drawdown_duration", "win_rate", "profit_factor",
               "expectancy", "trades", "exposure", "commission", "slippage"}
TRADE_KEYS = {"side", "quantity", "entry_time", "entry_price", "exit_time", "exit_price", "pnl",
              "return", "commission"}


def test_report_keys_on_goog() -> None:
    rep = json.loads(goog_report_text("sma_crossover"))
    assert set(rep) >= TOP_KEYS
    assert rep["strategy"] == "sma_crossover"
    assert rep["params"] == {"fast": 10, "slow": 30, "allow_short": False}
    assert rep["data"] == {"symbol": "GOOG", "timeframe": "1d", "start": "2004-08-19",
                           "end": "2013-03-01", "bars": 2148}
    settings = rep["settings"]
    assert settings["periods_per_year"] == 252  # daily bars of an XNYS equity
    assert settings["commission"] == {"model": "percent", "rate": 0.001}
    assert settings["slippage"] == {"model": "fixed_bps", "bps": 2.0}
    assert settings["fill_model"]["market_orders"] == "next bar open"
    assert set(rep["metrics"]) >= METRIC_KEYS
    assert rep["trades"] and all(set(t) == TRADE_KEYS for t in rep["trades"])
    assert len(rep["equity_curve"]) == 2148
    assert all(set(p) == {"time", "equity"} for p in rep["equity_curve"])
    assert rep["equity_curve"][0] == {"time": "2004-08-19", "equity": 10000}
    # the metrics' trade count is the closed trades; an open one is listed with null exit
    closed = [t for t in rep["trades"] if t["exit_time"] is not None]
    assert rep["metrics"]["trades"] == len(closed)


def test_report_of_a_hand_made_run() -> None:
    # buy 10 on 2020-01-01 -> filled 2020-01-02 at the open 100.00 (commission 1.00);
    # sell on 2020-01-03 -> filled 2020-01-04 at the open 110.00 (commission 1.10)
    # P&L 10 * (110 - 100) - 2.10 = 97.90; return 97.90 / 1000 = 0.0979
    bars = make_bars([100.0, 104.0, 108.0, 111.0], open=[100.0, 100.0, 105.0, 110.0])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(10)
        if i == 2:
            ctx.close()

    rep = report.build_report(run(on_bar, bars, commission=PercentCommission(D("0.001"))))
    assert rep["data"] == {"symbol": "TEST", "timeframe": "1d", "start": "2020-01-01",
                           "end": "2020-01-04", "bars": 4}
    assert rep["settings"]["periods_per_year"] == 365  # make_bars: a 24/7 calendar
    assert rep["trades"] == [{
        "side": "long", "quantity": 10, "entry_time": "2020-01-02", "entry_price": 100,
        "exit_time": "2020-01-04", "exit_price": 110, "pnl": 97.9, "return": 0.0979,
        "commission": 2.1,
    }]
    # equity at each close: 10000; 10000 - 1001 + 10*104 = 10039; 8999 + 1080 = 10079;
    # after the sale: 8999 + 1100 - 1.10 = 10097.90
    assert [p["equity"] for p in rep["equity_curve"]] == [10000, 10039, 10079, 10097.9]
    assert rep["metrics"]["trades"] == 1
    assert rep["metrics"]["commission"] == 2.1
    assert rep["metrics"]["total_return"] == pytest.approx(0.00979, abs=1e-12)


def test_an_open_position_at_the_end_is_a_trade_with_null_exit() -> None:
    # bought 10 at the open 100.00 of 2020-01-02, still held; marked at the last close 105
    bars = make_bars([100.0, 102.0, 105.0], open=[100.0, 100.0, 103.0])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(10)

    rep = report.build_report(run(on_bar, bars))
    assert rep["trades"] == [{
        "side": "long", "quantity": 10, "entry_time": "2020-01-02", "entry_price": 100,
        "exit_time": None, "exit_price": None, "pnl": 50, "return": 0.05, "commission": 0,
    }]
    assert rep["metrics"]["trades"] == 0  # statistics count closed trades only
    # marked at each close, not the open: 10000, 9000 + 1020, 9000 + 1050
    assert [p["equity"] for p in rep["equity_curve"]] == [10000, 10020, 10050]


def test_short_trade_and_average_prices_in_the_report() -> None:
    # short 3 at 50.00, add 1 at 54.00 (average (150 + 54) / 4 = 51.00), cover 4 at 45.00:
    # P&L -1 * (180 - 204) = +24.00
    bars = make_bars([50.0, 54.0, 48.0, 45.0, 45.0], open=[50.0, 50.0, 54.0, 46.0, 45.0])

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.sell(3)
        if i == 1:
            ctx.sell(1)
        if i == 3:
            ctx.close()

    trades = report.build_report(run(on_bar, bars))["trades"]
    assert trades == [{
        "side": "short", "quantity": 4, "entry_time": "2020-01-02", "entry_price": 51,
        "exit_time": "2020-01-05", "exit_price": 45, "pnl": 24,
        "return": round(24 / 204, 12),  # 0.117647058824
        "commission": 0,
    }]


def test_intraday_times_are_iso_utc() -> None:
    bars = make_bars([10.0] * 3, timeframe="1h")
    rep = report.build_report(run(lambda ctx, i: None, bars))
    assert [p["time"] for p in rep["equity_curve"]] == [
        "2020-01-01T00:00:00Z", "2020-01-01T01:00:00Z", "2020-01-01T02:00:00Z"]


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_two_runs_give_byte_identical_reports(strategy: str) -> None:
    assert goog_report_text(strategy) == goog_report_text(strategy)


def test_a_fresh_process_gives_the_same_bytes() -> None:
    # another interpreter with another hash seed must produce the very same JSON text
    code = (
        "import sys, importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('t', {str(Path(__file__))!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "sys.stdout.write(m.goog_report_text('donchian_breakout'))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True, timeout=60)
    assert out.stdout == goog_report_text("donchian_breakout")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_vectorized_and_incremental_indicators_give_the_same_report(strategy: str) -> None:
    texts = []
    for mode in IndicatorMode:
        settings = BacktestSettings(commission=COSTS.commission, slippage=COSTS.slippage,
                                    indicator_mode=mode)
        rep = report.build_report(run_backtest(strategy, goog(), settings))
        assert rep["settings"]["indicator_mode"] == mode.value
        rep["settings"]["indicator_mode"] = "either"
        texts.append(report.dumps(rep))
    assert texts[0] == texts[1]
    assert json.loads(texts[0])["trades"], "the comparison needs trades to mean something"


def test_dumps_is_compact_sorted_by_insertion_and_rejects_nan() -> None:
    assert report.dumps({"b": 1, "a": [1.5, None]}) == '{"b":1,"a":[1.5,null]}\n'
    with pytest.raises(ValueError):
        report.dumps({"x": float("nan")})


# --------------------------------------------------------------------------- history rule


def test_less_than_two_years_is_refused() -> None:
    # 730 daily bars span 730 days = 730 / 365.25 = 1.9986 years < 2
    bars = make_bars([10.0] * 730)
    with pytest.raises(InsufficientHistoryError, match="--allow-short-history") as info:
        run_backtest(scripted(lambda ctx, i: None), bars)
    assert isinstance(info.value, UserError)
    message = str(info.value)
    assert "TEST has 730 bars" in message and "at least 2 years" in message


def test_the_refusal_does_not_round_the_span_up_to_the_minimum() -> None:
    # 1.9986 years printed as "covering 2.00 years; ... at least 2 years" contradicts itself
    with pytest.raises(InsufficientHistoryError) as info:
        run_backtest(scripted(lambda ctx, i: None), make_bars([10.0] * 730))
    assert "covering 2.00 years" not in str(info.value), str(info.value)


def test_two_years_is_enough() -> None:
    # 731 daily bars: 731 / 365.25 = 2.0014 years
    result = run_backtest(scripted(lambda ctx, i: None), make_bars([10.0] * 731))
    assert len(result.equity) == 731


def test_short_history_runs_when_allowed_or_when_the_minimum_is_lowered() -> None:
    bars = make_bars([10.0] * 10)
    assert len(run_backtest(scripted(lambda ctx, i: None), bars,
                            allow_short_history=True).equity) == 10
    # 400 days = 1.095 years: enough for min_years=1, not for the default
    year_bars = make_bars([10.0] * 400)
    run_backtest(scripted(lambda ctx, i: None), year_bars, BacktestSettings(min_years=1.0))
    with pytest.raises(InsufficientHistoryError):
        run_backtest(scripted(lambda ctx, i: None), year_bars)


# --------------------------------------------------------------------------- stepping API


def _stepped_and_run(strategy: str, settings: BacktestSettings, risk: Any = None
                     ) -> tuple[Any, Any]:
    from trading_strategy.backtesting.engine import BacktestEngine
    from trading_strategy.backtesting.risk_gate import RiskGate
    from trading_strategy.strategies import registry

    engines = []
    for stepped in (False, True):
        engine = BacktestEngine(registry.get(strategy), None, goog(), settings)
        if risk is not None:
            engine.set_gate(RiskGate(risk, strategy=strategy, engine=engine))
        if stepped:
            engine.start()
            for i in range(len(goog())):
                engine.step(i)
            engine.finish()
        else:
            engine.run()
        engines.append(engine)
    return engines[0], engines[1]


@pytest.mark.parametrize("mode", [IndicatorMode.VECTORIZED, IndicatorMode.INCREMENTAL])
@pytest.mark.parametrize("with_risk", [False, True])
def test_start_step_finish_equals_run(mode: IndicatorMode, with_risk: bool) -> None:
    from trading_strategy.risk import RiskSettings

    settings = BacktestSettings(commission=PercentCommission(D("0.001")),
                                slippage=FixedBpsSlippage(D("2")), indicator_mode=mode)
    risk = RiskSettings(stop_loss_pct=5, take_profit_pct=10, trailing_stop_pct=8) \
        if with_risk else None
    ran, stepped = _stepped_and_run("sma_crossover", settings, risk)
    assert ran.state.fills, "the scenario must trade"
    assert stepped.state.fills == ran.state.fills
    assert [(o.id, o.status, o.reason) for o in stepped.state.closed_orders] == \
        [(o.id, o.status, o.reason) for o in ran.state.closed_orders]
    assert np.array_equal(stepped.equity_curve_units(), ran.equity_curve_units())
