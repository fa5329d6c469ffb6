"""The fast path inside a sweep: the same table as the engine, and a transparent fallback
for whatever it does not do (a strategy without the declaration, a subclass that changes
its hooks, risk rules, a point the kernel hands back); its declaration's checks, the stop
price rounding and the indicator memory."""

from __future__ import annotations

import warnings
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np
import pytest

from trading_strategy import Backtest
from trading_strategy.core.errors import ConfigError
from trading_strategy.research import optimize
from trading_strategy.research.fastpath import NotEligible, Plan, plan_for, run_fast, warm_up
from trading_strategy.research.fastpath.declaration import (
    DeclarationError,
    IndicatorMemo,
    declaring_class,
    signals,
    stop_ticks,
)
from trading_strategy.research.fastpath.plan import market_open_mask
from trading_strategy.research.sweep import run_trials
from trading_strategy.research.trial import Trial, evaluate
from trading_strategy.risk.sessions import session_status
from trading_strategy.strategies import indicators
from trading_strategy.strategies.base import Strategy, StrategyParams
from trading_strategy.strategies.rsi_reversion import RsiReversion
from trading_strategy.strategies.sma_crossover import SmaCrossover, SmaCrossoverParams
from trading_strategy.testing import make_bars

pytest.importorskip("numba")

SPACE = {"fast": [5, 10, 30], "slow": [20, 30, 50]}


def backtest(strategy: Any = "sma_crossover", **options: Any) -> Backtest:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest("GOOG", strategy, store=False, **options)


@pytest.fixture(scope="module")
def goog() -> Backtest:
    return backtest(commission=0.001, slippage=2)


def rows(result: Any) -> Any:
    return result.frame.drop(columns="message")


def test_the_sweep_table_is_the_same_either_way(goog: Backtest) -> None:
    fast = optimize(goog, SPACE, workers=2, fast=True)
    slow = optimize(goog, SPACE, workers=0, fast=False)
    assert fast.counts == slow.counts == {"trials": 9, "ok": 7, "invalid": 2, "error": 0,
                                          "rejected": 0, "scored": 7}
    assert rows(fast).equals(rows(slow))
    assert fast.frame["message"].equals(slow.frame["message"])  # the invalid points' words
    assert fast.best_params == slow.best_params
    assert fast.diagnostics == slow.diagnostics


def test_auto_takes_the_fast_path_when_eligible(goog: Backtest,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from trading_strategy.research import executors

    def no_engine(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the event-driven executor ran")

    monkeypatch.setattr(executors, "run_inline", no_engine)
    monkeypatch.setattr(executors, "run_pool", no_engine)
    trials = run_trials(goog, [{"fast": 5, "slow": 20}, {"fast": 10, "slow": 50}])
    assert [t.status for t in trials] == ["ok", "ok"]


class Plain(Strategy):
    """Buys once and holds: no fast_signals."""

    name = "plain_hold"
    Params: ClassVar[type[StrategyParams]] = SmaCrossoverParams

    def on_bar(self) -> None:
        if self.ctx.is_flat and not self.ctx.open_orders:
            self.ctx.buy()


class Tweaked(SmaCrossover):
    """Inherits fast_signals but changes on_bar: the declaration no longer describes it."""

    name = "tweaked_sma"

    def on_bar(self) -> None:
        if self.ctx.bar_index % 2 == 0:
            super().on_bar()


class Renamed(SmaCrossover):
    name = "renamed_sma"


def test_who_declares() -> None:
    assert declaring_class(SmaCrossover) is SmaCrossover
    assert declaring_class(Renamed) is SmaCrossover
    assert declaring_class(Tweaked) is None
    assert declaring_class(Plain) is None


@pytest.mark.parametrize("strategy", [Plain, Tweaked], ids=["undeclared", "changed-hooks"])
def test_a_strategy_without_the_declaration_falls_back(strategy: type[Strategy]) -> None:
    bt = backtest(strategy)
    plan = plan_for(bt)
    assert isinstance(plan, NotEligible) and "fast_signals" in plan.reason
    auto = optimize(bt, {"fast": [5, 10], "slow": [20, 40]}, workers=0)
    engine = optimize(bt, {"fast": [5, 10], "slow": [20, 40]}, workers=0, fast=False)
    assert auto.counts["ok"] == 4 and rows(auto).equals(rows(engine))
    with pytest.raises(ConfigError, match="fast path cannot run this sweep: strategy"):
        optimize(bt, {"fast": [5, 10], "slow": [20, 40]}, fast=True)


def test_an_ineligible_configuration_falls_back() -> None:
    bt = backtest(risk={"stop_loss_pct": 5})
    plan = plan_for(bt)
    assert isinstance(plan, NotEligible) and plan.reason == "risk setting stop_loss_pct"
    auto = optimize(bt, SPACE, workers=0)
    engine = optimize(bt, SPACE, workers=0, fast=False)
    assert rows(auto).equals(rows(engine))
    # the stops did trade: this is not the plain strategy's table
    assert not rows(auto).equals(rows(optimize(backtest(), SPACE, workers=0)))
    with pytest.raises(ConfigError, match="stop_loss_pct"):
        optimize(bt, SPACE, fast=True)


def test_the_options_are_checked(goog: Backtest) -> None:
    with pytest.raises(ConfigError, match="fast must be"):
        run_trials(goog, [{"fast": 5, "slow": 20}], fast="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not both"):
        run_trials(goog, [{"fast": 5, "slow": 20}], fast=True, dask_scheduler="tcp://x:1")
    with pytest.raises(ConfigError, match="Bayesian"):
        optimize(goog, SPACE, method="bayes", fast=True)
    assert isinstance(plan_for(object()), NotEligible)  # type: ignore[arg-type]


def test_a_point_the_kernel_hands_back_runs_on_the_engine(goog: Backtest) -> None:
    plan = plan_for(goog)
    assert isinstance(plan, Plan)
    fallen: list[int] = []

    def fallback(index: int, params: dict[str, Any]) -> Trial:
        fallen.append(index)
        return evaluate(goog, index, params)

    # a declaration that fails on one point (bad parameters reach fast_signals as a
    # parsed model that is not the strategy's own) goes to the engine for that point
    tasks = [(0, {"fast": 5, "slow": 20}), (1, {"fast": 50, "slow": 20}),
             (2, {"fast": 10, "slow": 40})]
    trials = list(run_fast(plan, tasks, fallback=fallback))
    assert [t.status for t in trials] == ["ok", "invalid", "ok"] and fallen == []
    broken = Plan(**{**{f: getattr(plan, f) for f in Plan.__dataclass_fields__},
                     "strategy": Broken})
    trials = list(run_fast(broken, tasks, fallback=fallback, threads=2))
    assert fallen == [0, 2] and [t.status for t in trials] == ["ok", "invalid", "ok"]


class Broken(SmaCrossover):
    name = "broken_sma"

    @classmethod
    def fast_signals(cls, params: StrategyParams, *columns: Any, ind: Any = None) -> Any:
        return {"long_entry": np.zeros(3, dtype=bool)}  # the wrong length


def test_declaration_checks() -> None:
    bars = make_bars([10.0 + (i % 7) for i in range(40)])
    params = SmaCrossover.parse_params({"fast": 2, "slow": 5})

    class Answer(SmaCrossover):
        answer: ClassVar[Any] = None

        @classmethod
        def fast_signals(cls, params: StrategyParams, *columns: Any, ind: Any = None) -> Any:
            return cls.answer

    for answer, words in [([1, 2], "expected a dict"), ({"buy": np.zeros(40)}, "unknown keys"),
                          ({"long_entry": np.zeros(39)}, "shape"),
                          ({"long_entry": np.ones(40), "short_entry": np.ones(40)}, "both on")]:
        Answer.answer = answer
        with pytest.raises(DeclarationError, match=words):
            signals(Answer, params, bars)
    flags, stops = signals(SmaCrossover, params, bars)
    cross = indicators.crossover(indicators.sma(bars.close, 2), indicators.sma(bars.close, 5))
    assert np.array_equal(flags & 1 != 0, cross > 0) and not stops.any()


def test_stop_prices_round_as_the_engine_does() -> None:
    bars = make_bars([10.0] * 3, tick_size="0.05")
    inst = bars.instrument
    rng = np.random.default_rng(1)
    # random prices, exact half ticks (ties to even), their float neighbours, and
    # prices that round to zero ticks
    halves = (np.arange(1, 2000) + 0.5) * 0.05
    prices = np.concatenate((rng.uniform(0.01, 500, 5000), halves, np.nextafter(halves, 0),
                             np.nextafter(halves, 1e9), [0.02, 0.024, np.nan, -1.0, 0.0]))
    got = stop_ticks(prices, inst)
    want = [0 if not (np.isfinite(p) and p > 0) else inst.to_ticks(float(p)) for p in prices]
    want = [-1 if w <= 0 and np.isfinite(p) and p > 0 else w
            for w, p in zip(want, prices, strict=True)]
    assert got.tolist() == want


def test_the_indicator_memory() -> None:
    bars = make_bars([10.0 + (i % 5) for i in range(30)])
    columns = (bars.open, bars.high, bars.low, bars.close, bars.volume)
    memo = IndicatorMemo(indicators, columns, size=2)
    first = memo.sma(bars.close, 3)
    assert memo.sma(bars.close, 3) is first and not first.flags.writeable
    assert np.array_equal(first, indicators.sma(bars.close, 3), equal_nan=True)
    assert memo.sma(bars.close, 4) is not first
    other = bars.close.copy()  # not a column: computed each time, left writeable
    assert memo.sma(other, 3) is not memo.sma(other, 3)
    upper, _, _ = memo.donchian(bars.high, bars.low, 5)
    assert not upper.flags.writeable and memo.donchian(bars.high, bars.low, 5)[0] is upper
    assert memo.sma(bars.close, 3) is not first  # only the last two results are kept
    assert memo.SMA is indicators.SMA
    assert memo.sma(bars.close, period=3) is memo.sma(bars.close, period=3)


def test_market_hours_mask_matches_the_calendar() -> None:
    from trading_strategy.core.instrument import Calendar

    bars = make_bars([10.0] * 24 * 20, timeframe="1h", calendar=Calendar.XNYS,
                     start="2024-03-01")
    mask = market_open_mask(bars)
    expect = [session_status(Calendar.XNYS, int(t))[0] for t in bars.ts]
    assert mask.tolist() == expect and 0 < sum(expect) < len(expect)
    daily = make_bars([10.0] * 10, calendar=Calendar.XNYS)
    assert market_open_mask(daily).all()


def test_warm_up_compiles() -> None:
    assert warm_up() >= 0.0


def test_rsi_sweep_through_the_cli_layer_is_the_same(goog: Backtest) -> None:
    bt = backtest(RsiReversion, size="10", commission=Decimal("0.0005"))
    space = {"period": [7, 14], "oversold": [25, 35]}
    assert rows(optimize(bt, space, fast=True)).equals(
        rows(optimize(bt, space, workers=0, fast=False)))


def test_without_numba_the_sweep_runs_on_the_engine(goog: Backtest,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "numba", None)  # import numba now raises ImportError
    plan = plan_for(goog)
    assert isinstance(plan, NotEligible) and "numba is not installed" in plan.reason
    assert optimize(goog, {"fast": [5, 10], "slow": [20]}, workers=0).counts["ok"] == 2


def test_an_interrupted_threaded_sweep_stops_at_once(goog: Backtest) -> None:
    import time

    plan = plan_for(goog)
    assert isinstance(plan, Plan)
    parsed: list[int] = []

    class Counted(SmaCrossover):
        @classmethod
        def parse_params(cls, raw: Any = None) -> StrategyParams:
            parsed.append(1)
            time.sleep(0.02)  # each point takes a while: few start before the close
            return super().parse_params(raw)

    counted = Plan(**{**{f: getattr(plan, f) for f in Plan.__dataclass_fields__},
                      "strategy": Counted})
    tasks = [(i, {"fast": 5 + i % 20, "slow": 60}) for i in range(100)]
    stream = run_fast(counted, tasks, threads=2, fallback=lambda i, p: evaluate(goog, i, p))
    assert next(stream).status == "ok"
    stream.close()  # the points not started are cancelled, not run
    assert len(parsed) < 20
