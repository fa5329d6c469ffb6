"""The strategy-facing numbers and views are the same in a replayed paper session as in its
backtest: ``open_orders`` (``OrderView``), ``position_view``, ``closed_trades``, and
``position``/``cash``/``equity`` with their exact twins, read at every bar."""

from __future__ import annotations

import asyncio
from dataclasses import FrozenInstanceError, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.enums import OrderType, Side
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession
from trading_strategy.strategies import registry
from trading_strategy.strategies.context import Context
from trading_strategy.strategies.views import OrderView, PositionView, TradeView
from trading_strategy.testing import make_bars, scripted

_CLOSE = [100.0, 100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 104.0, 103.0, 102.0, 101.0, 100.0,
          99.0, 98.0]
SEEN: list[tuple[Any, ...]] = []


def _probe(ctx: Context, i: int) -> None:
    SEEN.append((i, tuple(ctx.open_orders), ctx.position_view, ctx.closed_trades,
                 ctx.position, ctx.cash, ctx.equity,
                 ctx.position_exact, ctx.cash_exact, ctx.equity_exact))
    if i == 1:
        ctx.buy(10, stop_loss=90, take_profit=130, tag="entry")
    elif i == 3:
        ctx.submit_order(Side.SELL, 4, order_type=OrderType.LIMIT, limit=103.5,
                         reduce_only=True, tag="target")
    elif i == 5:
        for order in ctx.open_orders:
            if order.parent_id is not None:
                ctx.cancel(order.id)
    elif i == 6:
        ctx.close()
    elif i == 8:
        ctx.sell(ctx.equity * 0.05 / ctx.bars.close[0], tag="short")  # 5 % of equity
    elif i == 11:
        ctx.close()


def _run_both(tmp_path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    strategy = registry.register(scripted(_probe, name="views_probe"))
    bars = make_bars(_CLOSE, symbol="VWS")
    raw = {"session": {"name": "views"}, "venue": {"commission": 0.001, "slippage_bps": 0},
           "strategies": [{"name": "probe", "strategy": strategy.name, "symbol": "VWS",
                           "capital": 100_000}]}
    SEEN.clear()
    session = PaperSession(parse_portfolio(raw), data_dir=tmp_path,
                           bar_source=lambda symbol, timeframe: bars,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    live = list(SEEN)
    SEEN.clear()
    settings = BacktestSettings(initial_cash=Decimal(100_000),
                                commission=costs.PercentCommission(Decimal("0.001")),
                                slippage=costs.FixedBpsSlippage(Decimal(0)),
                                size=SizeSpec.parse("1"))
    run_backtest(strategy, bars, settings, allow_short_history=True)
    return live, list(SEEN)


def test_a_replayed_session_sees_the_same_views_and_numbers_as_its_backtest(
        tmp_path: Path) -> None:
    live, backtest = _run_both(tmp_path)
    assert len(backtest) == len(_CLOSE)
    by_bar = {row[0]: row for row in backtest}
    # the bracket's exits are listed while the entry is open, with its id as parent
    _, orders, position, *_ = by_bar[4]
    assert [(o.parent_id is not None, o.order_type, o.tag) for o in orders] == [
        (True, OrderType.STOP, ""), (True, OrderType.LIMIT, ""), (False, OrderType.LIMIT,
                                                                  "target")]
    assert position.lots == 10 and position.entry_price == 100.0
    # the round trips closed so far: the long (partly at the target), then the short
    trades = by_bar[13][3]
    assert [t.direction for t in trades] == [1, -1]
    assert all(isinstance(t, TradeView) for t in trades)
    # order ids differ by driver (a session's carry its name and run): compare them as
    # labels given in order of appearance, everything else as it is
    for row_live, row_backtest in zip(_labelled(live), _labelled(backtest), strict=True):
        assert row_live == row_backtest, f"bar {row_backtest[0]}"


def _labelled(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    labels: dict[str, str] = {}

    def label(oid: str | None) -> str | None:
        return None if oid is None else labels.setdefault(oid, f"o{len(labels)}")

    return [(i, tuple(replace(o, id=label(o.id), parent_id=label(o.parent_id))
                      for o in orders), *rest)
            for i, orders, *rest in rows]


def test_views_are_frozen_snapshots(tmp_path: Path) -> None:
    _, backtest = _run_both(tmp_path)
    _, orders, position, *_ = backtest[4]
    order = orders[0]
    assert isinstance(order, OrderView) and isinstance(position, PositionView)
    with pytest.raises(FrozenInstanceError):
        order.lots = 0  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        position.lots = 0  # type: ignore[misc]
    trade = backtest[-1][3][0]
    with pytest.raises(FrozenInstanceError):
        trade.pnl = 1e9
