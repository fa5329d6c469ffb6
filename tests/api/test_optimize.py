"""Backtest.optimize is the research sweep over the same Backtest (one code path)."""

from __future__ import annotations

from trading_strategy import Backtest
from trading_strategy.research import optimize


def test_backtest_optimize_equals_the_research_function_and_its_best_run() -> None:
    bt = Backtest("GOOG", "sma_crossover", commission=0.001)
    grid = {"fast": [5, 10], "slow": [20, 30]}
    via_method = bt.optimize(grid, maximize="sharpe", workers=0)
    direct = optimize(bt, grid, maximize="sharpe", workers=0)
    assert via_method.best_params == direct.best_params
    assert list(via_method.frame["sharpe"]) == list(direct.frame["sharpe"])
    best = bt.run(**via_method.best_params)
    assert best.stats["sharpe"] == max(via_method.frame["sharpe"])
