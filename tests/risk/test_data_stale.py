"""Stale market data refuses new entries on that instrument; reducing orders still pass.

Set-up: AAPL and MSFT (tick 0.01, lot 1), equity 1 000 000 units, market hours off.
"""

from __future__ import annotations

from typing import Any

from trading_strategy.core.enums import Side
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.risk import Account, ReasonCode, RiskEngine, RiskSettings, VerdictStatus

R = ReasonCode
ACCEPTED, RESIZED, REJECTED = VerdictStatus.ACCEPTED, VerdictStatus.RESIZED, VerdictStatus.REJECTED
TS = 1_709_650_800_000_000_000
DAY = 86_400 * 1_000_000_000


def make(**kw: Any) -> tuple[RiskEngine, Account]:
    kw.setdefault("enforce_market_hours", False)
    engine = RiskEngine(RiskSettings(**kw), {"AAPL": Instrument("AAPL"),
                                             "MSFT": Instrument("MSFT")})
    account = engine.new_account(equity=1_000_000)
    account.set_last_price("AAPL", 15_000)
    account.set_last_price("MSFT", 40_000)
    return engine, account


def check(engine: RiskEngine, account: Account, side: Side, lots: int, symbol: str = "AAPL",
          **kw: Any) -> tuple[VerdictStatus, int, ReasonCode | None]:
    v = engine.check(OrderIntent("id", "s", symbol, side, lots, **kw), account, TS)
    assert (v.message == "") is (v.reason is None)
    return v.status, v.lots, v.reason


def test_stale_refuses_entries_on_that_symbol_only() -> None:
    engine, account = make()
    engine.set_data_stale("AAPL", True)
    v = engine.check(OrderIntent("id", "s", "AAPL", Side.BUY, 10), account, TS)
    assert (v.status, v.reason) == (REJECTED, R.DATA_STALE)
    assert "AAPL market data is stale" in v.message and "no new entries" in v.message
    assert check(engine, account, Side.SELL, 10)[2] is R.DATA_STALE  # opening a short too
    assert check(engine, account, Side.BUY, 10, "MSFT") == (ACCEPTED, 10, None)
    assert engine.is_data_stale("AAPL") and engine.stale_symbols == {"AAPL"}


def test_reducing_orders_pass_and_a_reversal_is_cut_to_close() -> None:
    engine, account = make()
    account.set_position("s", "AAPL", 5)
    engine.set_data_stale("AAPL", True)
    assert check(engine, account, Side.SELL, 3) == (ACCEPTED, 3, None)
    assert check(engine, account, Side.SELL, 8) == (RESIZED, 5, R.DATA_STALE)
    assert check(engine, account, Side.BUY, 1)[2] is R.DATA_STALE  # growing the long


def test_restored_data_trades_again() -> None:
    engine, account = make()
    engine.set_data_stale("AAPL", True)
    engine.set_data_stale("AAPL", False)
    engine.set_data_stale("AAPL", False)  # idempotent
    assert check(engine, account, Side.BUY, 10) == (ACCEPTED, 10, None)
    assert not engine.is_data_stale("AAPL") and engine.stale_symbols == frozenset()


def test_a_halt_outranks_stale_data() -> None:
    engine, account = make(max_drawdown_pct=10)
    engine.on_equity(TS - 2 * DAY, None, 1_000_000)
    engine.on_equity(TS - DAY, None, 800_000)  # -20 %: halted until re-armed
    engine.set_data_stale("AAPL", True)
    assert check(engine, account, Side.BUY, 1)[2] is R.HALTED
