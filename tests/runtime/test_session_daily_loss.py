"""A paper session judges an order at its decision bar's time, as the backtest does (issue
10): on daily bars an entry decided on the bar that reached the daily loss limit is denied
in both modes, not accepted in the session because the bar closes on the next UTC day."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.enums import OrderStatus
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.risk import RiskSettings
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession
from trading_strategy.strategies import registry
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted

#: bought at bar 2's open (100); bar 3 closes 10 % lower: the equity falls 5 % that day
_CLOSE = [100.0, 100.0, 100.0, 90.0, 90.0, 90.0, 90.0]


def _buy_then_again_on_the_loss(ctx: Context, i: int) -> None:
    if i in (1, 3):
        ctx.buy(500)


def test_an_entry_decided_on_the_daily_loss_bar_is_denied_in_both_modes(
        tmp_path: Path) -> None:
    strategy = registry.register(scripted(_buy_then_again_on_the_loss,
                                          name="daily_loss_decision_time"))
    bars = make_bars(_CLOSE, symbol="DLS")
    raw = {"session": {"name": "dls"}, "venue": {"commission": 0, "slippage_bps": 0},
           "strategies": [{"name": "probe", "strategy": strategy.name, "symbol": "DLS",
                           "capital": 100_000}],
           "risk": {"max_daily_loss_pct": 2}}
    session = PaperSession(parse_portfolio(raw), data_dir=tmp_path,
                           bar_source=lambda symbol, timeframe: bars,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    settings = BacktestSettings(initial_cash=Decimal(100_000),
                                commission=costs.PercentCommission(Decimal(0)),
                                slippage=costs.FixedBpsSlippage(Decimal(0)),
                                size=SizeSpec.parse("1"))
    bt = run_backtest(strategy, bars, settings, risk=RiskSettings(max_daily_loss_pct=2),
                      allow_short_history=True)
    live = [o.status for o in session.runners[0].ctx.orders.values()]
    backtest = [o.status for o in sorted([*bt.engine.state.closed_orders, *bt.engine.orders],
                                         key=lambda o: o.created_index)]
    assert backtest == [OrderStatus.FILLED, OrderStatus.DENIED]
    assert live == backtest
