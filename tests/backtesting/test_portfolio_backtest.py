"""Portfolio backtests: exact totals, a portfolio of one is a single backtest, strategies on
different timestamps see only their own bars, and a portfolio drawdown limit halts and
flattens every strategy."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from trading_strategy.backtesting.portfolio import (
    INDEPENDENT,
    LOCKSTEP,
    Sleeve,
    coupling,
    run_portfolio,
)
from trading_strategy.backtesting.portfolio_report import build_portfolio_report
from trading_strategy.backtesting.report import build_report
from trading_strategy.backtesting.runner import BacktestResult, run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import ConfigError
from trading_strategy.kernel.costs import FixedBpsSlippage, PercentCommission
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.market_data.files import load_bars
from trading_strategy.risk import RiskSettings, TradingState

#: no rule reads the total: the strategies run independently
FREE = RiskSettings(check_buying_power=False)


def _settings(cash: int = 50_000, size: str = "all-in") -> BacktestSettings:
    return BacktestSettings(initial_cash=Decimal(cash),
                            commission=PercentCommission(Decimal("0.001")),
                            slippage=FixedBpsSlippage(Decimal(2)), size=SizeSpec.parse(size))


def _sleeves() -> list[Sleeve]:
    return [
        Sleeve("sma_goog", "sma_crossover", {"fast": 10, "slow": 30}, load_bars("GOOG").bars,
               _settings(size="50")),
        Sleeve("rsi_msft", "rsi_reversion", {}, load_bars("MSFT").bars, _settings()),
        Sleeve("donchian_ibm", "donchian_breakout", {}, load_bars("IBM").bars,
               _settings(cash=30_000, size="25%")),
    ]


def _same_run(got: BacktestResult, want: BacktestResult) -> None:
    """Equal metrics, trades and equity: exactly, not approximately."""
    assert got.metrics == want.metrics
    assert np.array_equal(got.equity_units, want.equity_units)
    mine, theirs = build_report(got), build_report(want)
    assert mine["trades"] == theirs["trades"]
    assert mine["metrics"] == theirs["metrics"]


# --- totals -------------------------------------------------------------------------------
@pytest.mark.parametrize("risk", [None, FREE, RiskSettings(max_position_pct=60)])
def test_the_total_pnl_is_the_sum_of_the_strategies_pnl_to_the_cent(
        risk: RiskSettings | None) -> None:
    result = run_portfolio(_sleeves(), risk)
    assert result.pnl == sum((s.pnl for s in result.sleeves), Decimal(0))
    for sleeve in result.sleeves:
        ledger, last = sleeve.engine.ledger, int(sleeve.engine.close_t[-1])
        trades = sum(t.pnl(last if t.is_open else None) for t in ledger.trades)
        assert sleeve.pnl == sleeve.engine.instrument.money(trades), sleeve.name
        assert sleeve.result.metrics.trades > 0, sleeve.name
    report = build_portfolio_report(result, name="t")
    book = report["portfolio"]
    assert book["pnl"] == pytest.approx(sum(s["pnl"] for s in book["strategies"]), abs=0.005)
    assert report["metrics"]["final_equity"] == pytest.approx(
        book["initial_capital"] + book["pnl"], abs=0.005)
    assert sum(s["contribution"] for s in book["strategies"]) == pytest.approx(
        report["metrics"]["total_return"], rel=1e-12)
    assert len(report["trades"]) == sum(s["trades"] for s in book["strategies"])


def test_the_total_equity_is_the_sum_of_the_curves_on_the_union_of_times() -> None:
    result = run_portfolio(_sleeves(), FREE)
    # the union of times starts with the earliest symbol (MSFT in 2000, GOOG from 2004)
    assert result.ts[0] == min(int(s.engine.bars.ts[0]) for s in result.sleeves)
    t = int(result.ts[len(result.ts) // 2])
    expected = 0
    for s in result.sleeves:
        at = int(np.searchsorted(s.engine.bars.ts, t, side="right")) - 1
        units = s.initial_units if at < 0 else int(s.result.equity_units[at])
        expected += units * s.factor
    assert int(result.equity_units[len(result.ts) // 2]) == expected


# --- a portfolio of one -------------------------------------------------------------------
@pytest.mark.parametrize("risk", [
    None, FREE, RiskSettings(),
    RiskSettings(max_position_pct=30),
    RiskSettings(max_drawdown_pct=8), RiskSettings(stop_loss_pct=5, max_drawdown_pct=12)])
def test_a_portfolio_of_one_strategy_is_the_single_backtest(risk: RiskSettings | None) -> None:
    sleeve = _sleeves()[1]
    portfolio = run_portfolio([sleeve], risk)
    single = run_backtest("rsi_reversion", sleeve.bars, sleeve.settings, {}, risk=risk)
    _same_run(portfolio.sleeves[0].result, single)
    # the total of one strategy is that strategy
    assert portfolio.metrics == single.metrics
    assert np.array_equal(portfolio.equity_units, single.equity_units)
    assert portfolio.mode == (INDEPENDENT if risk in (None, FREE) else LOCKSTEP)


def test_lockstep_and_independent_runs_agree_while_no_portfolio_rule_binds() -> None:
    free = run_portfolio(_sleeves(), FREE)
    # a drawdown limit that never fires forces the lockstep loop without changing a trade
    wide = run_portfolio(_sleeves(), RiskSettings(check_buying_power=False,
                                                  max_drawdown_pct=90))
    assert (free.mode, wide.mode) == (INDEPENDENT, LOCKSTEP)
    assert not wide.changes
    for a, b in zip(free.sleeves, wide.sleeves, strict=True):
        _same_run(a.result, b.result)
    assert np.array_equal(free.equity_units, wide.equity_units)


def _every_other(bars: BarSeries, start: int) -> BarSeries:
    keep = np.arange(start, len(bars), 2)
    return BarSeries(bars.instrument, bars.timeframe, bars.ts[keep], bars.open[keep],
                     bars.high[keep], bars.low[keep], bars.close[keep], bars.volume[keep])


def test_strategies_on_different_timestamps_see_only_their_own_bars() -> None:
    # one symbol on even days, the other on odd days: no timestamp in common
    goog = _every_other(load_bars("GOOG").bars, 0)
    msft = _every_other(load_bars("MSFT").bars, 1)
    assert not set(goog.ts.tolist()) & set(msft.ts.tolist())
    sleeves = [Sleeve("sma", "sma_crossover", {}, goog, _settings(size="50")),
               Sleeve("rsi", "rsi_reversion", {}, msft, _settings())]
    risk = RiskSettings(check_buying_power=False, max_drawdown_pct=90)  # lockstep
    result = run_portfolio(sleeves, risk, allow_short_history=True)
    assert result.mode == LOCKSTEP
    assert len(result.ts) == len(goog) + len(msft)
    for sleeve, got in zip(sleeves, result.sleeves, strict=True):
        single = run_backtest(sleeve.strategy, sleeve.bars, sleeve.settings, {}, risk=risk,
                              allow_short_history=True)
        _same_run(got.result, single)


# --- the kill switch ----------------------------------------------------------------------
def test_a_portfolio_drawdown_limit_halts_and_flattens_every_strategy() -> None:
    sleeves = [replace(s, bars=s.bars.between(int(np.datetime64("2005-01-01", "ns")
                                                      .astype(np.int64)), None))
               for s in _sleeves()]
    result = run_portfolio(sleeves, RiskSettings(max_drawdown_pct=4), allow_short_history=True)
    halts = [(c, at) for c, at in result.changes if c.current is TradingState.HALTED]
    assert len(halts) == 1
    change, at = halts[0]
    assert change.scope is None and change.flatten
    halt_ts = int(result.ts[at])
    held = [s.name for s in result.sleeves
            if s.engine.position_curve[np.searchsorted(s.engine.bars.ts, halt_ts,
                                                       side="right") - 1] != 0]
    assert len(held) >= 2, "the halt must bind while several strategies hold positions"
    for s in result.sleeves:
        ts = s.engine.bars.ts
        after = int(np.searchsorted(ts, halt_ts, side="right"))  # the next bar: flat from it
        assert not s.engine.position_curve[after:].any(), s.name
        fills = [f for f in s.engine.state.fills if f.ts_event > halt_ts]
        # at most the flattening fill at the next open, and no entry ever after
        assert all(f.ts_event == int(ts[after]) for f in fills), s.name
    report = build_portfolio_report(result, name="t")
    [halt] = [h for h in report["risk"]["halts"] if h["state"] == "halted"]
    assert halt["scope"] == "portfolio" and halt["flatten"] is True
    assert halt["drawdown"] >= 0.04 and halt["flat_time"] is not None
    assert report["risk"]["final_state"] == "halted"
    assert report["risk"]["verdicts"].get("rejected:halted", 0) > 0


# --- what couples strategies --------------------------------------------------------------
def test_coupling_names_every_setting_that_reads_the_portfolio() -> None:
    assert coupling(None, ["a"]) == []
    assert coupling(FREE, ["a"]) == []
    assert coupling(RiskSettings(), ["a"]) == ["risk.check_buying_power"]
    assert coupling(RiskSettings(check_buying_power=False, max_drawdown_pct=10,
                                 max_leverage=2), ["a"]) == [
        "risk.max_drawdown_pct", "risk.max_leverage"]
    per_strategy: Any = {"a": {"max_position_pct": 10, "stop_loss_pct": 5}}
    assert coupling(RiskSettings(check_buying_power=False, strategies=per_strategy),
                    ["a", "b"]) == ["risk.strategies.a.max_position_pct"]
    # a strategy's own loss limit watches its own equity: no coupling
    own: Any = {"a": {"max_drawdown_pct": 10}}
    assert coupling(RiskSettings(check_buying_power=False, strategies=own), ["a"]) == []


# --- refused -------------------------------------------------------------------------------
def test_several_currencies_are_refused() -> None:
    goog = load_bars("GOOG").bars
    euro = replace(goog.instrument, symbol="SAP", currency="EUR")
    sap = BarSeries(euro, goog.timeframe, goog.ts, goog.open, goog.high, goog.low, goog.close,
                    goog.volume)
    with pytest.raises(ConfigError, match="several currencies"):
        run_portfolio([Sleeve("a", "sma_crossover", {}, goog, _settings()),
                       Sleeve("b", "sma_crossover", {}, sap, _settings())])


def test_bars_annualised_differently_need_an_override() -> None:
    goog = load_bars("GOOG").bars
    fx = load_bars("EURUSD").bars
    sleeves = [Sleeve("a", "sma_crossover", {}, goog, _settings()),
               Sleeve("b", "sma_crossover", {}, fx, _settings())]
    with pytest.raises(ConfigError, match="--periods-per-year"):
        run_portfolio(sleeves, allow_short_history=True)
    fixed = [replace(s, settings=replace(s.settings, periods_per_year=252.0)) for s in sleeves]
    result = run_portfolio(fixed, allow_short_history=True)
    assert result.annualisation.periods_per_year == 252.0
    # two money units (equity ticks of 0.0001, FX of 0.00001): totalled exactly in the finer
    assert result.money_unit == Decimal("0.00001")
    assert [s.factor for s in result.sleeves] == [10, 1]
    assert result.pnl == sum((s.pnl for s in result.sleeves), Decimal(0))
    final = sum((s.engine.instrument.money(s.final_units) for s in result.sleeves), Decimal(0))
    assert int(result.equity_units[-1]) * result.money_unit == final
