"""Backtest runs repository on both engines."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np

from trading_strategy.storage import Store


def _report(strategy: str = "sma_crossover", symbol: str = "GOOG", **metrics: Any
            ) -> dict[str, Any]:
    return {
        "strategy": strategy,
        "params": {"fast": 10, "slow": np.int64(30)},
        "data": {"symbol": symbol, "timeframe": "1d", "start": "2020-01-02",
                 "end": "2020-12-31", "bars": 253},
        "settings": {"commission": "0.1% of notional", "periods_per_year": 252,
                     "fill_model": {"market_orders": "next bar open"}},
        "metrics": {"total_return": 0.1234, "cagr": 0.12, "sharpe": 1.5, "sortino": 2.0,
                    "max_drawdown": -0.08, "win_rate": 0.6, "profit_factor": math.inf,
                    "trades": 2, "expectancy": None, **metrics},
        "trades": [
            {"side": "long", "quantity": 10, "entry_time": "2020-01-03", "entry_price": 68.43,
             "exit_time": "2020-03-02", "exit_price": 70.1, "pnl": 16.7, "return": 0.0244,
             "commission": 1.39},
            {"side": "long", "quantity": 12, "entry_time": "2020-11-02", "entry_price": 81.5,
             "exit_time": None, "exit_price": None, "pnl": 3.0, "return": 0.003,
             "commission": 0.98},
        ],
        "equity_curve": [{"time": "2020-01-02", "equity": 10000},
                         {"time": "2020-01-03", "equity": 10000.5},
                         {"time": "2020-12-31", "equity": 11234.0}],
        "buy_and_hold": {"total_return": 0.3},
    }


def test_save_and_read_back(store: Store) -> None:
    run_id = store.runs.save_run(_report())
    run = store.runs.get_run(run_id)
    assert run is not None
    s = run.summary
    assert (s.strategy, s.symbol, s.timeframe, s.bars, s.status) == (
        "sma_crossover", "GOOG", "1d", 253, "completed")
    assert s.data_start == datetime(2020, 1, 2, tzinfo=UTC)
    assert (s.total_return, s.sharpe, s.trade_count) == (0.1234, 1.5, 2)
    assert s.profit_factor == math.inf
    assert s.code_version.startswith("0.")
    assert run.params == {"fast": 10, "slow": 30}
    assert run.metrics["profit_factor"] == math.inf and run.metrics["expectancy"] is None
    assert run.settings["fill_model"] == {"market_orders": "next bar open"}
    assert run.extra == {"buy_and_hold": {"total_return": 0.3}}
    first, second = run.trades
    assert (first.quantity, first.entry_price, first.exit_price, first.pnl) == (
        Decimal("10"), Decimal("68.43"), Decimal("70.1"), Decimal("16.7"))
    assert second.exit_time is None and second.exit_price is None
    assert [e for _, e in run.equity_curve] == [Decimal("10000"), Decimal("10000.5"),
                                               Decimal("11234.0")]

    report = run.to_report()
    text = json.dumps(report, allow_nan=False)  # JSON-safe: inf became a string
    assert report["trades"][0]["entry_time"] == "2020-01-03"
    assert report["equity_curve"][1] == {"time": "2020-01-03", "equity": 10000.5}
    assert report["metrics"]["profit_factor"] == "inf" and "buy_and_hold" in text


def test_list_runs_newest_first_with_filters(store: Store) -> None:
    a = store.runs.save_run(_report("sma_crossover", "GOOG"))
    b = store.runs.save_run(_report("rsi_reversion", "AAPL"))
    c = store.runs.save_run(_report("sma_crossover", "AAPL"), status="failed")
    assert [r.id for r in store.runs.list_runs()] == [c, b, a]
    assert [r.id for r in store.runs.list_runs(strategy="sma_crossover")] == [c, a]
    assert [r.id for r in store.runs.list_runs(symbol="AAPL", limit=1)] == [c]
    assert store.runs.list_runs(symbol="AAPL")[0].status == "failed"


def test_missing_and_deleted_runs(store: Store) -> None:
    assert store.runs.get_run(12345) is None
    run_id = store.runs.save_run(_report())
    assert store.runs.delete_run(run_id) is True
    assert store.runs.get_run(run_id) is None and store.runs.delete_run(run_id) is False


def test_long_equity_curve(store: Store) -> None:
    report = _report()
    report["equity_curve"] = [{"time": f"2020-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
                               "equity": 10000 + i / 100} for i in range(3600)]
    run = store.runs.get_run(store.runs.save_run(report))
    assert run is not None and len(run.equity_curve) == 3600
    assert run.equity_curve[-1][1] == Decimal("10035.99")
