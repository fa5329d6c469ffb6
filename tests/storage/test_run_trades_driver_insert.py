"""Trades of a run saved on SQLite by one driver ``executemany`` read back exactly as the
SQLAlchemy insert (the column types' conversions) stores them, whatever the report holds:
floats, ints, Decimals, numeric text, non-finite numbers, times with offsets, datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from trading_strategy.storage import Store
from trading_strategy.storage.runs import _insert_many, _trade_rows
from trading_strategy.storage.tables import BacktestTradeRow
from trading_strategy.storage.transactions import writing

_TRADES: list[dict[str, Any]] = [
    {"side": "long", "quantity": 10, "entry_time": "2020-01-03", "entry_price": 68.43,
     "exit_time": "2020-02-03T15:30:00Z", "exit_price": 70.1, "pnl": 16.7,
     "return": 0.0244, "commission": 0.14},
    {"side": "short", "quantity": 0.001, "entry_time": "2020-03-03T09:30:00.123456+02:00",
     "entry_price": Decimal("1.23456789"), "exit_time": None, "exit_price": None,
     "pnl": "12.5", "return": None, "commission": 0},
    {"side": "long", "quantity": Decimal("2.50"), "entry_time": datetime(2021, 5, 4, 12),
     "entry_price": 2**60, "exit_time": datetime(2021, 5, 5, tzinfo=timezone(
         timedelta(hours=-5))), "exit_price": float("inf"), "pnl": float("nan"),
     "return": "0.5", "commission": -0.0},
    {"side": "long", "quantity": 1, "entry_time": 1_600_000_000_000_000_000,
     "entry_price": 0.1 + 0.2, "exit_time": "", "exit_price": 1e-7, "pnl": -1e300,
     "return": 1e-12, "commission": 3},
]


#: times as a report writes them (dates, UTC times with Z): parsed in one numpy call
_REPORT_TRADES: list[dict[str, Any]] = [
    {**_TRADES[0], "entry_time": "2020-02-29T23:59:59.123456Z", "exit_time": None},
    {**_TRADES[0], "entry_time": "1969-12-31T23:59:59.5Z", "exit_time": "2200-12-31"},
    {**_TRADES[0], "entry_time": "2024-01-02", "exit_time": ""},
]


def _report() -> dict[str, Any]:
    return {"strategy": "sma_crossover", "params": {}, "settings": {}, "metrics": {},
            "data": {"symbol": "X", "timeframe": "1d", "start": "2020-01-02",
                     "end": "2021-06-01", "bars": 3},
            "trades": _TRADES,
            "equity_curve": [{"time": "2020-01-02", "equity": 1.0}]}


def _both_ways(store: Store, trades: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    fast = store.runs.save_run({**_report(), "trades": trades})
    slow = store.runs.save_run({**_report(), "trades": []})
    with writing(store.engine) as connection:
        _insert_many(connection, BacktestTradeRow, _trade_rows(slow, trades))
    got_fast, got_slow = store.runs.get_run(fast), store.runs.get_run(slow)
    assert got_fast is not None and got_slow is not None
    assert len(got_fast.trades) == len(trades)
    for a, b in zip(got_fast.trades, got_slow.trades, strict=True):
        assert repr(a) == repr(b)  # NaN-safe, and Decimal('2.5') vs Decimal('2.50') visible
    return got_fast.trades, got_slow.trades


def test_driver_insert_stores_what_the_column_types_store(store: Store) -> None:
    """On PostgreSQL both runs take SQLAlchemy's path: the comparison holds trivially."""
    trades, _ = _both_ways(store, _TRADES)
    assert trades[0].exit_time == datetime(2020, 2, 3, 15, 30, tzinfo=UTC)
    assert trades[2].pnl is None and trades[2].exit_price is None


def test_report_times_read_in_one_call_are_the_same_instants(store: Store) -> None:
    trades, _ = _both_ways(store, _REPORT_TRADES)
    assert trades[0].entry_time == datetime(2020, 2, 29, 23, 59, 59, 123456, tzinfo=UTC)
    assert trades[1].exit_time == datetime(2200, 12, 31, tzinfo=UTC)
    assert trades[2].exit_time is None
