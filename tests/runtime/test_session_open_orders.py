"""``Context.open_orders`` follows one rule in both modes (issue 10): the strategy's own open
orders and those placed for it — the exits of its entries (``parent_id`` set) — oldest
first; an exit cancelled or filled leaves the list."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

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
from trading_strategy.testing import make_bars, scripted

_CLOSE = [100.0, 100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0]
SEEN: list[tuple[int, list[tuple[Any, ...]]]] = []


def _bracket_then_limit(ctx: Context, i: int) -> None:
    SEEN.append((i, [(o.side.value, o.order_type.value, o.lots, o.limit_ticks, o.stop_ticks,
                      o.parent_id is not None) for o in ctx.open_orders]))
    if i == 1:
        ctx.buy(10, stop_loss=95, take_profit=120)
    elif i == 3:
        ctx.submit_order(Side.SELL, 10, order_type=OrderType.LIMIT, limit=130, reduce_only=True)
    elif i == 5:
        for order in ctx.open_orders:  # cancelling while looping is safe
            if order.parent_id is not None:
                ctx.cancel(order.id)


def test_open_orders_list_the_exits_in_a_session_as_in_a_backtest(tmp_path: Path) -> None:
    strategy = registry.register(scripted(_bracket_then_limit, name="open_orders_probe"))
    bars = make_bars(_CLOSE, symbol="OOP")
    raw = {"session": {"name": "oop"}, "venue": {"commission": 0, "slippage_bps": 0},
           "strategies": [{"name": "probe", "strategy": strategy.name, "symbol": "OOP",
                           "capital": 100_000}]}
    SEEN.clear()
    session = PaperSession(parse_portfolio(raw), data_dir=tmp_path,
                           bar_source=lambda symbol, timeframe: bars,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    live = list(SEEN)
    SEEN.clear()
    settings = BacktestSettings(initial_cash=Decimal(100_000),
                                commission=costs.PercentCommission(Decimal(0)),
                                slippage=costs.FixedBpsSlippage(Decimal(0)),
                                size=SizeSpec.parse("1"))
    run_backtest(strategy, bars, settings, allow_short_history=True)
    backtest = list(SEEN)
    by_bar = dict(backtest)
    # the entry filled at bar 2's open: its stop and target are listed from bar 2 on
    assert [kind for *_, kind in by_bar[2]] == [True, True]
    assert {t for _, t, *_ in by_bar[2]} == {OrderType.STOP.value, OrderType.LIMIT.value}
    assert [kind for *_, kind in by_bar[4]] == [True, True, False]
    assert [kind for *_, kind in by_bar[6]] == [False]  # the exits cancelled at bar 5
    assert live == backtest
