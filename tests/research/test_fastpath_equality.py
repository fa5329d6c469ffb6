"""The fast path equals the engine: every built-in strategy, every point of a 3 × 3 grid,
on the GOOG sample and on synthetic series, under the settings a sweep meets (the default
risk gate, no risk gate, all-in and fixed sizes, each commission and slippage model).

Compared exactly: every fill (bar, side, lots, price, commission, slippage), every trade
(the ledger's ``TradeRecord``), the equity curve in money units, the position per bar, the
ledger's totals and the metrics.
"""

from __future__ import annotations

import itertools
import random
import warnings
from dataclasses import astuple, replace
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from trading_strategy import Backtest
from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import Side
from trading_strategy.core.instrument import Calendar
from trading_strategy.kernel.costs import (
    AtrSlippage,
    CommissionModel,
    FixedBpsSlippage,
    FixedCommission,
    NoSlippage,
    PercentCommission,
    PerUnitCommission,
    RangeSlippage,
    SlippageModel,
)
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.research.fastpath import NotEligible, Plan, make_plan
from trading_strategy.research.fastpath.run import run_point
from trading_strategy.risk.settings import RiskSettings
from trading_strategy.strategies.base import Strategy
from trading_strategy.strategies.donchian_breakout import DonchianBreakout
from trading_strategy.strategies.rsi_reversion import RsiReversion
from trading_strategy.strategies.sma_crossover import SmaCrossover
from trading_strategy.testing import make_bars

pytest.importorskip("numba")

D = Decimal

GRIDS: dict[type[Strategy], list[dict[str, Any]]] = {
    SmaCrossover: [{"fast": f, "slow": s, "allow_short": f == 5}
                   for f, s in itertools.product((3, 5, 10), (15, 20, 40))],
    RsiReversion: [{"period": p, "oversold": lo, "overbought": 100 - lo}
                   for p, lo in itertools.product((5, 14, 21), (25.0, 30.0, 40.0))],
    DonchianBreakout: [{"channel": c, "atr_period": 10, "atr_stop": k}
                       for c, k in itertools.product((5, 20, 40), (0.5, 2.0, 4.0))],
}


def synthetic(n: int = 1500, seed: int = 7, *, timeframe: str = "1d",
              calendar: Calendar = Calendar.ALWAYS) -> BarSeries:
    """A random walk with overnight gaps (opens away from the previous close), so stops
    gap through and fills move."""
    rng = np.random.default_rng(seed)
    close = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.02, n))), 2)
    open_ = np.round(np.concatenate(([50.0], close[:-1])) * np.exp(rng.normal(0, 0.01, n)), 2)
    wiggle = np.round(np.abs(rng.normal(0, 0.01, n)) * close, 2)
    high = np.maximum(open_, close) + wiggle
    low = np.maximum(np.minimum(open_, close) - wiggle, 0.01)
    return make_bars(close.tolist(), open=open_.tolist(), high=high.tolist(),
                     low=low.tolist(), timeframe=timeframe, calendar=calendar,
                     start="2019-01-01")


@pytest.fixture(scope="module")
def goog() -> BarSeries:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest("GOOG", "sma_crossover", store=False).bars


def fills_of(result: Any) -> list[tuple[int, int, int, int, int, int]]:
    return [(f.bar_index, 1 if f.side is Side.BUY else -1, f.lots, f.price_ticks,
             f.commission, f.slippage) for f in result.engine.state.fills]


def assert_same(strategy: type[Strategy], bars: BarSeries, settings: BacktestSettings,
                risk: RiskSettings | None, params: dict[str, Any]) -> int:
    """Run both; assert every output equal; the number of trades."""
    plan = make_plan(strategy, bars, settings, risk, allow_short_history=True)
    assert isinstance(plan, Plan), plan
    fast = run_point(plan, strategy.parse_params(params))
    assert fast is not None, f"the kernel handed back {params}"
    slow = run_backtest(strategy, bars, settings, params, risk=risk, allow_short_history=True)
    where = f"{strategy.name} {params}"
    assert [(f.bar_index, f.sign, f.lots, f.price_ticks, f.commission, f.slippage)
            for f in fast.fills] == fills_of(slow), where
    assert [astuple(t) for t in fast.trades] == [
        astuple(t) for t in slow.engine.ledger.trades], where
    assert np.array_equal(fast.equity_units, slow.equity_units), where
    assert np.array_equal(fast.position_curve, slow.engine.position_curve), where
    ledger = slow.engine.ledger
    assert (fast.cash, fast.position, fast.commission, fast.slippage, fast.traded_value) == (
        ledger.cash, ledger.position, ledger.commission, ledger.slippage,
        ledger.traded_value), where
    assert fast.metrics == slow.metrics, where
    return len(fast.trades)


SETTINGS = {
    "all-in, 0.1%, 5 bps": BacktestSettings(commission=PercentCommission(D("0.001")),
                                            slippage=FixedBpsSlippage(D(5))),
    "fixed 30, per unit + minimum, range": BacktestSettings(
        commission=PerUnitCommission(D("0.01"), D("1")), slippage=RangeSlippage(D("0.1")),
        size=SizeSpec.parse("30")),
    "fixed 400 (refused, resized), fee, ATR": BacktestSettings(
        commission=FixedCommission(D("2.5")), slippage=AtrSlippage(D("0.2"), 10),
        size=SizeSpec.parse("400")),
}


@pytest.mark.parametrize("strategy", list(GRIDS), ids=lambda s: s.name)
@pytest.mark.parametrize("label", list(SETTINGS))
@pytest.mark.parametrize("risk", [RiskSettings(), None], ids=["risk-gate", "open-gate"])
def test_synthetic_every_point(strategy: type[Strategy], label: str,
                               risk: RiskSettings | None) -> None:
    bars = synthetic()
    trades = [assert_same(strategy, bars, SETTINGS[label], risk, params)
              for params in GRIDS[strategy]]
    assert sum(trades) > 0  # the comparison saw trading


@pytest.mark.parametrize("strategy", list(GRIDS), ids=lambda s: s.name)
def test_goog_every_point(strategy: type[Strategy], goog: BarSeries) -> None:
    settings = replace(SETTINGS["all-in, 0.1%, 5 bps"])
    trades = [assert_same(strategy, goog, settings, RiskSettings(), params)
              for params in GRIDS[strategy]]
    assert sum(trades) > 0


def test_intraday_market_hours_and_shorts() -> None:
    """Hourly bars round the clock on the XNYS calendar: orders decided while the market
    is closed are refused by the risk gate, in both paths alike."""
    bars = synthetic(2000, seed=3, timeframe="1h", calendar=Calendar.XNYS)
    settings = SETTINGS["all-in, 0.1%, 5 bps"]
    for params in GRIDS[SmaCrossover]:
        assert_same(SmaCrossover, bars, settings, RiskSettings(), params)
    plan = make_plan(SmaCrossover, bars, settings, RiskSettings(), allow_short_history=True)
    assert isinstance(plan, Plan) and 0 < plan.allowed.sum() < len(bars)


def test_the_buying_power_rules_can_be_switched_off() -> None:
    bars = synthetic(seed=11)
    risk = RiskSettings(check_buying_power=False, enforce_market_hours=False)
    big = replace(SETTINGS["all-in, 0.1%, 5 bps"], size=SizeSpec.parse("400"))
    for params in GRIDS[SmaCrossover][:3]:
        assert_same(SmaCrossover, bars, big, risk, params)
    resize_off = RiskSettings(resize_to_fit=False)
    for params in GRIDS[SmaCrossover][:3]:
        assert_same(SmaCrossover, bars, big, resize_off, params)


def test_a_plan_is_refused_with_its_reason() -> None:
    bars = synthetic(300)
    settings = BacktestSettings()
    cases = {
        "latency": replace(settings, latency_bars=2),
        "volume participation": replace(settings, volume_participation=D("0.1")),
        "percent of equity": replace(settings, size=SizeSpec.parse("50%")),
    }
    for words, changed in cases.items():
        plan = make_plan(SmaCrossover, bars, changed, None, allow_short_history=True)
        assert isinstance(plan, NotEligible) and words in plan.reason, (words, plan)
    for risk, words in [(RiskSettings(stop_loss_pct=5), "stop_loss_pct"),
                        (RiskSettings(max_drawdown_pct=20), "max_drawdown_pct"),
                        (RiskSettings(max_leverage=2), "exposure"),
                        (RiskSettings(sizing_method="fixed_fraction", fixed_fraction_pct=10),
                         "fixed_fraction"),
                        (RiskSettings(blocked_symbols=["TEST"]), "not tradable"),
                        (RiskSettings.model_validate(
                            {"strategies": {"sma_crossover": {"max_position_pct": 5}}}),
                         "for strategy sma_crossover")]:
        plan = make_plan(SmaCrossover, bars, settings, risk, allow_short_history=True)
        assert isinstance(plan, NotEligible) and words in plan.reason, (words, plan)
    short = make_plan(SmaCrossover, bars, settings, None, allow_short_history=False)
    assert isinstance(short, NotEligible) and "years" in short.reason
    huge = make_plan(SmaCrossover, bars, replace(settings, initial_cash=D(10) ** 12), None,
                     allow_short_history=True)
    assert isinstance(huge, NotEligible) and "cash" in huge.reason
    many = replace(settings, size=SizeSpec.parse("10000000000000"))
    lots = make_plan(SmaCrossover, bars, many, None, allow_short_history=True)
    assert isinstance(lots, NotEligible) and "fixed size" in lots.reason


def _random_case(rnd: random.Random) -> tuple[type[Strategy], BarSeries, BacktestSettings,
                                              RiskSettings | None, dict[str, Any]]:
    timeframe, calendar = rnd.choice([("1d", Calendar.ALWAYS), ("1h", Calendar.XNYS),
                                      ("1h", Calendar.FX), ("1d", Calendar.XNYS)])
    bars = synthetic(rnd.choice([200, 600]), seed=rnd.randrange(10**6), timeframe=timeframe,
                     calendar=calendar)
    commissions: list[CommissionModel] = [
        PercentCommission(D(rnd.choice(["0", "0.001", "0.01"]))),
        PerUnitCommission(D(rnd.choice(["0.005", "0.05"])), D(rnd.choice(["0", "1", "5"]))),
        FixedCommission(D(rnd.choice(["0", "9.99"])))]
    slippages: list[SlippageModel] = [
        NoSlippage(), FixedBpsSlippage(D(rnd.choice(["1", "30"]))), RangeSlippage(D("0.5")),
        AtrSlippage(D("1"), rnd.choice([3, 14]))]
    commission, slippage = rnd.choice(commissions), rnd.choice(slippages)
    settings = BacktestSettings(
        commission=commission, slippage=slippage,
        size=SizeSpec.parse(rnd.choice(["all-in", "all-in", "1", "300", "5000"])),
        initial_cash=D(rnd.choice(["10000", "500", "1000000"])))
    risk = rnd.choice([None, RiskSettings(), RiskSettings(initial_margin_pct=25.0),
                       RiskSettings(resize_to_fit=False),
                       RiskSettings(check_buying_power=False)])
    strategy = rnd.choice(list(GRIDS))
    params: dict[str, Any]
    if strategy is SmaCrossover:
        fast = rnd.randint(1, 20)
        params = {"fast": fast, "slow": fast + rnd.randint(1, 40),
                  "allow_short": rnd.random() < 0.5}
    elif strategy is RsiReversion:
        params = {"period": rnd.randint(2, 30), "oversold": rnd.uniform(5, 49),
                  "overbought": rnd.uniform(51, 95)}
    else:
        params = {"channel": rnd.randint(2, 50), "atr_period": rnd.randint(1, 20),
                  "atr_stop": rnd.choice([0.1, 1.0, 2.5, 20.0])}
    return strategy, bars, settings, risk, params


def test_random_configurations() -> None:
    """Seeded random mixes of calendar, costs, size, cash, risk rules and parameters (600
    of them passed when the kernel was written; 40 here)."""
    rnd = random.Random(20261130)
    for _ in range(40):
        assert_same(*_random_case(rnd))
