"""The integer ledger: cash, position and round-trip trades from fills, exactly.

``apply_fill(sign, lots, ticks, commission, slippage, ts, bar)``: prices in ticks, quantity in
lots, money (cash, commission, P&L) in units of tick × lot. With tick 0.01 and lot 1, a tick is
a cent and so is a money unit.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.portfolio.ledger import Ledger, TradeRecord
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted

BUY, SELL = 1, -1


def test_long_round_trip() -> None:
    ledger = Ledger(1_000_000)  # 10 000.00
    ledger.apply_fill(BUY, 10, 1000, 10, 0, ts=1, bar=1)  # buy 10 at 10.00, commission 0.10
    assert (ledger.cash, ledger.position) == (1_000_000 - 10_000 - 10, 10)
    assert ledger.equity(1050) == 989_990 + 10 * 1050  # marked at 10.50: 10 000.40
    ledger.apply_fill(SELL, 10, 1100, 11, 0, ts=2, bar=2)  # sell 10 at 11.00, commission 0.11
    # cash 1 000 000 - 10 000 - 10 + 11 000 - 11 = 1 000 979
    assert (ledger.cash, ledger.position) == (1_000_979, 0)
    (trade,) = ledger.trades
    assert trade == TradeRecord(direction=1, entry_ts=1, entry_bar=1, entry_lots=10,
                                entry_value=10_000, exit_lots=10, exit_value=11_000,
                                commission=21, exit_ts=2, exit_bar=2)
    # P&L 11 000 - 10 000 - 21 = 979 cents = 9.79
    assert trade.pnl() == 979
    assert not trade.is_open and ledger.open_trade is None
    assert (ledger.commission, ledger.traded_value) == (21, 21_000)


def test_short_round_trip() -> None:
    ledger = Ledger(0)
    ledger.apply_fill(SELL, 5, 2000, 0, 0, ts=1, bar=1)  # short 5 at 20.00: cash +100.00
    assert (ledger.cash, ledger.position) == (10_000, -5)
    ledger.apply_fill(BUY, 5, 1800, 0, 0, ts=2, bar=2)  # cover at 18.00
    # P&L -1 * (9000 - 10000) = +1000 = 10.00; cash 10 000 - 9 000
    assert ledger.cash == 1_000
    assert ledger.trades[0].pnl() == 1_000
    assert ledger.trades[0].direction == -1


def test_pyramiding_averages_the_entry_price() -> None:
    ledger = Ledger(10_000_000)
    ledger.apply_fill(BUY, 10, 10_000, 0, 0, ts=1, bar=1)  # 10 at 100.00
    ledger.apply_fill(BUY, 30, 12_000, 0, 0, ts=2, bar=2)  # 30 at 120.00
    (trade,) = ledger.trades  # adding extends the same trade
    # entry value 10*10000 + 30*12000 = 460 000 over 40 lots -> average 11 500 = 115.00
    assert (trade.entry_lots, trade.entry_value) == (40, 460_000)
    assert trade.entry_value / trade.entry_lots == 11_500
    ledger.apply_fill(SELL, 40, 13_000, 0, 0, ts=3, bar=3)  # all out at 130.00
    # P&L 40 * 13000 - 460 000 = 60 000 = 600.00
    assert trade.pnl() == 60_000
    assert trade.entry_ts == 1 and trade.exit_ts == 3


def test_partial_exits_keep_the_trade_open_until_flat() -> None:
    ledger = Ledger(100_000)
    ledger.apply_fill(BUY, 10, 100, 0, 0, ts=1, bar=1)  # 10 at 1.00
    ledger.apply_fill(SELL, 4, 110, 0, 0, ts=2, bar=2)  # 4 at 1.10
    trade = ledger.trades[0]
    assert trade.is_open and trade.open_lots == 6 and ledger.position == 6
    # marked at 1.05: exit value 440 + 6 * 105 = 1070 against entry 1000 -> +70
    assert trade.pnl(105) == 70
    with pytest.raises(ValueError, match="mark price"):
        trade.pnl()
    ledger.apply_fill(SELL, 6, 90, 0, 0, ts=3, bar=3)  # last 6 at 0.90
    # exit value 440 + 540 = 980 -> -20
    assert not trade.is_open and trade.pnl() == -20 and trade.exit_ts == 3
    assert len(ledger.trades) == 1


def test_a_reversal_closes_the_trade_and_opens_the_next_splitting_the_commission() -> None:
    ledger = Ledger(100_000)
    ledger.apply_fill(BUY, 10, 1000, 0, 0, ts=1, bar=1)  # long 10 at 10.00
    # sell 25 at 11.00 with commission 7: 10 lots close the long, 15 open a short.
    # closing share 7 * 10 // 25 = 2 (2.8 rounded down), the new trade gets the other 5
    ledger.apply_fill(SELL, 25, 1100, 7, 0, ts=2, bar=2)
    old, new = ledger.trades
    assert (old.exit_lots, old.exit_value, old.commission, old.exit_ts) == (10, 11_000, 2, 2)
    assert old.pnl() == 11_000 - 10_000 - 2
    assert (new.direction, new.entry_lots, new.entry_value, new.commission) == (-1, 15, 16_500, 5)
    assert new.is_open and ledger.open_trade is new and ledger.position == -15
    assert old.commission + new.commission == ledger.commission == 7
    # cash 100 000 - 10 000 + 27 500 - 7
    assert ledger.cash == 117_493


def test_equal_lots_reversal_gives_the_whole_commission_to_the_close() -> None:
    ledger = Ledger(0)
    ledger.apply_fill(SELL, 3, 500, 0, 0, ts=1, bar=1)
    ledger.apply_fill(BUY, 6, 400, 9, 0, ts=2, bar=2)  # 3 close, 3 open: 9 * 3 // 6 = 4
    old, new = ledger.trades
    assert (old.commission, new.commission) == (4, 5)
    assert (old.direction, new.direction, ledger.position) == (-1, 1, 3)


def test_slippage_and_traded_value_accumulate() -> None:
    ledger = Ledger(0)
    ledger.apply_fill(BUY, 2, 150, 0, 4, ts=1, bar=1)
    ledger.apply_fill(SELL, 2, 160, 0, 6, ts=2, bar=2)
    assert (ledger.slippage, ledger.traded_value) == (10, 2 * 150 + 2 * 160)


def test_a_thousand_round_trips_are_exact() -> None:
    # 1000 trades bought at 0.10 and sold at 0.30 with a commission of 0.01 per fill: exactly
    # 1000 * (0.30 - 0.10 - 0.02) = 180.00. The same in floats does not land on 180.0.
    ledger = Ledger(0)
    for k in range(1000):
        ledger.apply_fill(BUY, 1, 10, 1, 0, ts=2 * k, bar=2 * k)
        ledger.apply_fill(SELL, 1, 30, 1, 0, ts=2 * k + 1, bar=2 * k + 1)
    assert ledger.cash == 18_000  # cents
    assert sum(t.pnl() for t in ledger.trades) == 18_000
    assert len(ledger.trades) == 1000
    drift = 0.0
    for _ in range(1000):
        drift += -0.1 - 0.01 + 0.3 - 0.01
    assert drift != 180.0  # why the ledger is integer


def test_engine_cash_is_exact_over_a_thousand_trades() -> None:
    # 2001 daily bars whose opens alternate 0.10 / 0.30 (0.1 + 0.2 = 0.30000000000000004 in
    # floats): buy 7 at every 0.10 open, sell them at the next 0.30 open. 1000 trades of
    # 7 * 0.20 = 1.40 each -> exactly 10000 + 1400.00 = 11400.00
    opens = [0.1 if k % 2 else 0.1 + 0.2 for k in range(2001)]
    bars = make_bars(opens, open=opens)

    def on_bar(ctx: Context, i: int) -> None:
        if i % 2 == 0 and i < 2000:
            ctx.buy(7)  # fills at bar i+1's open 0.10
        elif i % 2 == 1:
            ctx.close()  # fills at bar i+1's open 0.30

    result = run_backtest(scripted(on_bar), bars, BacktestSettings(), allow_short_history=True)
    ledger = result.engine.ledger
    assert len(ledger.trades) == 1000
    assert result.bars.instrument.money(ledger.cash) == Decimal("11400.00")
    assert result.equity[-1] == 11400.0
