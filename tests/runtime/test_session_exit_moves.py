"""A trailing stop moves in a paper session while the strategy's own close is working, as in
the backtest (issue 10): an attached exit protects the booked position, so the risk check
does not project it against the close that is still on its way."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.enums import OrderStatus, OrderType
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.risk import RiskSettings
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession
from trading_strategy.strategies import registry
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted

#: rising bars: the trailing stop moves up at every bar while the position is held
_CLOSE = [100.0, 100.0, 102.0, 104.0, 106.0, 108.0, 110.0, 112.0, 112.0]


def _buy_then_close(ctx: Context, i: int) -> None:
    if i == 0:
        ctx.buy(10)
    elif i == 3:
        ctx.close()


def test_a_trailing_stop_moves_while_a_close_is_working(tmp_path: Path) -> None:
    strategy = registry.register(scripted(_buy_then_close, name="trail_with_close_working"))
    bars = make_bars(_CLOSE, symbol="TRW")
    raw = {"session": {"name": "trw"},
           "venue": {"commission": 0, "slippage_bps": 0, "latency_ms": 60_000},
           "strategies": [{"name": "probe", "strategy": strategy.name, "symbol": "TRW",
                           "capital": 100_000}],
           "risk": {"trailing_stop_pct": 4}}
    session = PaperSession(parse_portfolio(raw), data_dir=tmp_path,
                           bar_source=lambda symbol, timeframe: bars,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    settings = BacktestSettings(initial_cash=Decimal(100_000),
                                commission=costs.PercentCommission(Decimal(0)),
                                slippage=costs.FixedBpsSlippage(Decimal(0)),
                                size=SizeSpec.parse("1"), latency_ms=60_000)
    bt = run_backtest(strategy, bars, settings, risk=RiskSettings(trailing_stop_pct=4),
                      allow_short_history=True)
    inst = bars.instrument
    live = [(inst.to_ticks(o.stop_price), o.status) for o in
            session.execution.manager.orders() if o.order_type is OrderType.STOP]
    backtest = [(o.stop_ticks, o.status) for o in
                sorted([*bt.engine.state.closed_orders, *bt.engine.orders],
                       key=lambda o: o.created_index) if o.order_type is OrderType.STOP]
    # the stop moved on the bar of the close decision, while the close was working
    assert len(backtest) >= 3 and {s for _, s in backtest} == {OrderStatus.CANCELLED}
    assert live == backtest
