"""``open_orders``, ``position_view`` and ``closed_trades`` are frozen snapshots: a
strategy cannot change the engine's orders through them, and they agree with the engine."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from decimal import Decimal

import pytest

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.strategies.context import Context
from trading_strategy.strategies.views import OrderView, PositionView, TradeView
from trading_strategy.testing import make_bars, scripted

SETTINGS = BacktestSettings(initial_cash=Decimal(10_000),
                            commission=costs.PercentCommission(Decimal(0)),
                            slippage=costs.FixedBpsSlippage(Decimal(0)), size=SizeSpec.parse("1"))


def test_a_strategy_cannot_change_an_engine_order_through_its_view() -> None:
    attempts: list[str] = []

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(5, limit=50.0, tag="entry")  # rests: the price never gets there
        elif i == 1:
            view = ctx.open_orders[0]
            for field, value in (("lots", 500), ("limit_ticks", 100_00), ("status", None),
                                 ("quantity", 500.0), ("limit", 100.0)):
                with pytest.raises(FrozenInstanceError):
                    setattr(view, field, value)
                attempts.append(field)
            with pytest.raises(AttributeError):
                view.__dict__  # noqa: B018 - slots: no instance dict to write into either

    bars = make_bars([100.0, 100.0, 99.0, 98.0])
    result = run_backtest(scripted(on_bar, name="mutator"), bars, SETTINGS,
                          allow_short_history=True)
    assert attempts == ["lots", "limit_ticks", "status", "quantity", "limit"]
    (order,) = result.engine.orders
    assert (order.lots, order.limit_ticks, order.tag) == (5, 5000, "entry")
    assert result.engine.state.fills == []


def test_an_order_view_is_a_snapshot_of_the_order_when_taken() -> None:
    kept: list[OrderView] = []

    def on_bar(ctx: Context, i: int) -> None:
        if i == 0:
            ctx.buy(5, limit=99.0, stop_loss=90.0, take_profit=120.0, tag="entry")
        elif i == 1:
            kept.extend(ctx.open_orders)

    bars = make_bars([100.0, 100.0, 98.0, 98.0], low=[100.0, 99.5, 97.0, 97.0])
    run_backtest(scripted(on_bar, name="snapshot"), bars, SETTINGS, allow_short_history=True)
    (view,) = kept
    assert view.is_open and view.is_buy and view.status.value == "accepted"
    assert (view.quantity, view.filled, view.remaining) == (5.0, 0.0, 5.0)
    assert (view.limit, view.stop, view.stop_loss, view.take_profit) == (99.0, None, 90.0, 120.0)
    assert (view.lots, view.limit_ticks, view.tag, view.parent_id) == (5, 9900, "entry", None)


def test_position_view_and_closed_trades_follow_the_fills() -> None:
    seen: list[tuple[PositionView, tuple[TradeView, ...]]] = []

    def on_bar(ctx: Context, i: int) -> None:
        seen.append((ctx.position_view, ctx.closed_trades))
        if i == 0:
            ctx.buy(10)
        elif i == 1:
            ctx.buy(10)  # grows the trade: average entry (100 + 102) / 2
        elif i == 3:
            ctx.close()

    bars = make_bars([100.0, 102.0, 104.0, 106.0, 105.0, 105.0])  # fills at the next open
    run_backtest(scripted(on_bar, name="trades_probe"), bars, SETTINGS,
                 allow_short_history=True)
    position, trades = seen[3]
    assert (position.lots, position.quantity, position.entry_price) == (20, 20.0, 101.0)
    assert position.pnl == 100.0 and position.pnl_exact == Decimal("100.00")  # at 106
    assert position.is_long and trades == ()
    position, trades = seen[5]
    assert position.is_flat and position.entry_price is None
    (trade,) = trades
    assert (trade.direction, trade.quantity, trade.entry_price, trade.exit_price) == (
        1, 20.0, 101.0, 106.0)
    assert trade.pnl == 100.0 and trade.pnl_pct == pytest.approx(100 * 100 / 2020)
    assert seen[4][1][0] is trade  # built once, when it closed
