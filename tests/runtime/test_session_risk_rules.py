"""Risk rules that act on positions work in sessions as in backtests: the drawdown kill switch
flattens (issue 8, item 7), and ``sizing_method`` sizes entries (Kelly included, item 4)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from trading_strategy.core.enums import OrderStatus, Side
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession

_GOOG = {"name": "sma_goog", "strategy": "sma_crossover", "symbol": "GOOG",
         "capital": 10000, "size": "all-in"}


def _run(tmp: Path, risk: dict[str, Any], *, end: str = "2006-06-30",
         strategy: dict[str, Any] = _GOOG) -> PaperSession:
    raw = {"session": {"name": "risk", "end": end}, "venue": {"kind": "paper"},
           "strategies": [strategy], "risk": risk}
    session = PaperSession(parse_portfolio(raw), data_dir=tmp,
                           journal_factory=lambda root: InMemoryJournal())
    asyncio.run(session.run())
    return session


def _orders(session: PaperSession) -> list[Any]:
    return list(session.execution.manager.orders())


def _date(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, UTC).date().isoformat()


def test_a_drawdown_halt_closes_the_position_at_the_next_open(tmp_path: Path) -> None:
    # the backtest of the same rule halts on 2006-01-20 and is flat on 2006-01-23
    session = _run(tmp_path / "flat", {"max_drawdown_pct": 15})
    flatten = [o for o in _orders(session) if "-x" in o.id]
    assert len(flatten) == 1
    order = flatten[0]
    assert order.reduce_only and order.side is Side.SELL
    assert order.status is OrderStatus.FILLED
    assert _date(order.ts_last) == "2006-01-23"  # its fill: the open after the halt
    assert session.execution.ledgers["sma_goog"].position == 0
    # the halt holds: nothing was bought after it
    later = [o for o in _orders(session) if o.side is Side.BUY
             and o.ts_created > order.ts_created and o.status is OrderStatus.FILLED]
    assert later == []


def test_flatten_on_halt_false_keeps_the_position(tmp_path: Path) -> None:
    session = _run(tmp_path / "keep", {"max_drawdown_pct": 15, "flatten_on_halt": False})
    assert not [o for o in _orders(session) if "-x" in o.id]
    # the position rode on past the halt until the strategy's own exit (as in the backtest)
    sells = [o for o in _orders(session) if o.side is Side.SELL
             and o.status is OrderStatus.FILLED]
    assert _date(sells[-1].ts_last) == "2006-01-31"


def test_sizing_method_sizes_session_entries(tmp_path: Path) -> None:
    strategy = {**_GOOG, "size": "1"}  # the strategy asks for 1 share; the method decides
    session = _run(tmp_path / "frac", {"sizing_method": "fixed_fraction",
                                       "fixed_fraction_pct": 20}, strategy=strategy)
    entries = [o for o in _orders(session) if not o.reduce_only
               and o.status is OrderStatus.FILLED]
    assert len(entries) > 3
    first = entries[0]
    # flat and untouched: 20% of the 10,000 capital at the decision price, whole shares
    wanted = (Decimal(2000) / first.decision_price).to_integral_value(rounding=ROUND_FLOOR)
    assert first.quantity == wanted > 1
