"""A paper session and a backtest of the same bars agree on exits (issue 10): an entry's
bracket filled at the open is live for the rest of that bar, and a flat strategy's resting
reduce-only orders are cancelled at the fill that flattened it (``kernel.exits``)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from trading_strategy.backtesting.runner import BacktestResult, run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeSpec
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.risk import RiskSettings
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted

_CAPITAL = 100_000
_CLOSE = [100.0] * 12


def _bars(lows: dict[int, float]) -> BarSeries:
    return make_bars(_CLOSE, open=_CLOSE, high=[c + 1 for c in _CLOSE],
                     low=[lows.get(i, c - 1) for i, c in enumerate(_CLOSE)], symbol="PEX")


def _run(strategy: type[Strategy], bars: BarSeries,
         tmp: Path) -> tuple[PaperSession, BacktestResult]:
    raw = {"session": {"name": "pex"}, "venue": {"commission": 0, "slippage_bps": 0},
           "strategies": [{"name": "probe", "strategy": strategy.name, "symbol": "PEX",
                           "capital": _CAPITAL}]}
    session = PaperSession(parse_portfolio(raw), data_dir=tmp,
                           bar_source=lambda symbol, timeframe: bars,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    settings = BacktestSettings(initial_cash=Decimal(_CAPITAL),
                                commission=costs.PercentCommission(Decimal(0)),
                                slippage=costs.FixedBpsSlippage(Decimal(0)),
                                size=SizeSpec.parse("1"))
    bt = run_backtest(strategy, bars, settings, allow_short_history=True)
    return session, bt


def _trades(trades: list[Any]) -> list[tuple[Any, ...]]:
    return [(t.direction, t.entry_ts, t.entry_lots, t.entry_value, t.exit_ts, t.exit_lots,
             t.exit_value) for t in trades]


def _buy_with_stop(ctx: Context, i: int) -> None:
    if i == 2:
        ctx.buy(10, stop_loss=98)


def test_a_stop_of_an_entry_filled_at_the_open_can_fill_in_the_same_bar(
        tmp_path: Path) -> None:
    # the entry fills at bar 3's open (100); bar 3's low 95 goes through the stop at 98
    strategy = registry.register(scripted(_buy_with_stop, name="parity_exit_same_bar"))
    session, bt = _run(strategy, _bars({3: 95.0}), tmp_path)
    live = session.execution.ledgers["probe"]
    assert _trades(live.trades) == _trades(bt.engine.ledger.trades)
    (trade,) = bt.engine.ledger.trades
    assert trade.exit_ts == trade.entry_ts  # stopped out in the bar it was bought in
    assert live.cash == bt.engine.ledger.cash and live.position == 0


def _target_then_close(ctx: Context, i: int) -> None:
    if i == 1:
        ctx.buy(10)
    elif i == 3:
        ctx.submit_order(Side.SELL, 10, order_type=OrderType.LIMIT, limit=150,
                         reduce_only=True)
    elif i == 5:
        ctx.close()


def test_a_resting_reduce_only_order_is_cancelled_when_the_strategy_goes_flat(
        tmp_path: Path) -> None:
    strategy = registry.register(scripted(_target_then_close, name="parity_flat_cancel"))
    session, bt = _run(strategy, _bars({}), tmp_path)
    (target,) = [o for o in session.execution.manager.orders()
                 if o.order_type is OrderType.LIMIT]
    assert target.status is OrderStatus.CANCELLED
    (bt_target,) = [o for o in bt.engine.state.closed_orders
                    if o.order_type is OrderType.LIMIT]
    assert bt_target.status is OrderStatus.CANCELLED
    assert bt_target.reason == "position closed"


def _buy_then_close(ctx: Context, i: int) -> None:
    if i == 0:
        ctx.buy(10)
    elif i == 3:
        ctx.close()


def test_no_time_exit_is_sent_while_the_strategys_close_is_working(tmp_path: Path) -> None:
    # 60 s of latency on daily bars: an order decided at bar t fills at bar t+2; the time
    # exit falls due while the strategy's own close is working: neither mode sends it
    strategy = registry.register(scripted(_buy_then_close, name="parity_no_time_exit"))
    bars = _bars({})
    raw = {"session": {"name": "pex"},
           "venue": {"commission": 0, "slippage_bps": 0, "latency_ms": 60_000},
           "strategies": [{"name": "probe", "strategy": strategy.name, "symbol": "PEX",
                           "capital": _CAPITAL}],
           "risk": {"time_exit_bars": 2}}
    session = PaperSession(parse_portfolio(raw), data_dir=tmp_path,
                           bar_source=lambda symbol, timeframe: bars,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    assert len(session.execution.manager.orders()) == 2  # the entry and the close
    # not even tried and denied by the gate
    assert not [sample for metric in session.metrics.registry.collect()
                if metric.name == "rejects" for sample in metric.samples
                if sample.labels.get("strategy") == "probe" and sample.value]
    settings = BacktestSettings(initial_cash=Decimal(_CAPITAL),
                                commission=costs.PercentCommission(Decimal(0)),
                                slippage=costs.FixedBpsSlippage(Decimal(0)),
                                size=SizeSpec.parse("1"), latency_ms=60_000)
    bt = run_backtest(strategy, bars, settings, risk=RiskSettings(time_exit_bars=2),
                      allow_short_history=True)
    assert len(bt.engine.state.closed_orders) == 2
    assert _trades(session.execution.ledgers["probe"].trades) == _trades(
        bt.engine.ledger.trades)
