"""A live session on an exchange account (``[venue] kind = "ccxt"``: the fake Binance over
HTTP, bars from the fake's WebSocket) hears its fills while it runs: a strategy buys, sells
and rests a limit order that someone else's trade fills later; each fill reaches the
strategy's ``on_fill`` during the run (the strategy's next step waits for it), is journaled
once, and the session's position and cash move exactly as the exchange account's did.
Needs the session's ``venue-reports`` component (``runtime.venue_reports``): without it no
fill is applied until the next start and the strategy never gets past its first order."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import OrderStatus
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.orders.events import OrderFilled
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.orders.venues.ccxt_venue import CcxtVenue, ExchangeCredentials
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession
from trading_strategy.strategies import registry
from trading_strategy.strategies.base import Strategy, StrategyParams
from trading_strategy.strategies.context import FillEvent
from trading_strategy.testing_exchange import (
    AwaitRequest,
    FakeBinance,
    FakeStreamServer,
    Pause,
    Send,
    ServedApp,
    Step,
    binance_reply,
)

KEY, SECRET = "key-xs", "secret-xs"
BTC = Instrument("BTCUSDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"),
                 venue="binance", asset_class=AssetClass.CRYPTO, currency="USDT",
                 calendar=Calendar.ALWAYS)
T0_MS = 1717200000000
MINUTE_MS = 60_000
MS = 1_000_000
QTY = Decimal("0.01")
LIMIT = Decimal("49000")


def kline(minute: int) -> str:
    t = T0_MS + minute * MINUTE_MS
    return json.dumps({"stream": "btcusdt@kline_1m", "data": {
        "e": "kline", "E": t + MINUTE_MS, "s": "BTCUSDT", "k": {
            "t": t, "T": t + MINUTE_MS - 1, "s": "BTCUSDT", "i": "1m", "f": 1, "L": 2,
            "o": "50000", "c": "50000", "h": "50010", "l": "49990", "v": "1", "n": 2,
            "x": True, "q": "100", "V": "0", "Q": "0", "B": "0"}}})


def history(symbol: str, timeframe: str | None) -> BarSeries:
    ts = np.array([(T0_MS + m * MINUTE_MS) * MS for m in range(-3, 0)], dtype=np.int64)
    ones = np.ones(len(ts))
    return BarSeries(BTC, Timeframe.parse("1m"), ts, 50000 * ones, 50010 * ones,
                     49990 * ones, 50000 * ones, ones)


#: every ``on_fill`` the strategy heard: (order id, side, quantity, price, wall ns)
FILLS: list[tuple[str, str, Decimal, Decimal, int]] = []


class RoundTrip(Strategy):
    """On live bars: buy at market; once it holds the position, sell at market; once flat
    again, rest a limit buy below the market. Each step needs the previous fill."""

    name = "xs_round_trip"
    Params: ClassVar[type[StrategyParams]] = StrategyParams
    step = 0

    def on_bar(self) -> None:
        ctx = self.ctx
        if ctx.time_ns < T0_MS * MS:  # warm-up history: its orders are never sent
            return
        if self.step == 0:
            ctx.buy(QTY)
            self.step = 1
        elif self.step == 1 and ctx.position_lots > 0:
            ctx.sell(QTY)
            self.step = 2
        elif self.step == 2 and ctx.position_lots == 0:
            ctx.buy(QTY, limit=LIMIT)
            self.step = 3

    def on_fill(self, fill: FillEvent) -> None:
        FILLS.append((fill.order_id, fill.side.value, fill.quantity, fill.price,
                      time.time_ns()))


def _wait(predicate: Any, timeout: float) -> Any:
    async def waiting() -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.02)
    return waiting()


def _account(exchange: FakeBinance, asset: str) -> Decimal:
    return exchange.free[asset] + exchange.locked[asset]


def test_a_live_exchange_session_applies_its_fills_while_it_runs(tmp_path: Path) -> None:
    registry.register(RoundTrip)
    FILLS.clear()
    script: list[Step] = [AwaitRequest(), *[s for m in range(120)
                                            for s in (Send(kline(m)), Pause(0.1))]]
    journal = InMemoryJournal()
    exchange = FakeBinance(api_key=KEY, secret=SECRET)
    usdt0 = _account(exchange, "USDT")

    async def run() -> tuple[PaperSession, int]:
        with ServedApp(exchange.app()) as served:
            venue = CcxtVenue(["BTCUSDT"], credentials=ExchangeCredentials(KEY, SECRET),
                              api_url=served.url, timeout_ms=2000, poll_interval=0.05,
                              heartbeat_interval=0.2)
            async with FakeStreamServer([script], reply=binance_reply) as server:
                config = parse_portfolio({
                    "session": {"name": "exchange_fills"},
                    "venue": {"kind": "ccxt", "exchange": "binance"},
                    "data": {"default": {"providers": ["binance"], "timeframe": "1m",
                                         "stale_after": 1000},
                             "providers": {"binance": {"ws_url": server.url,
                                                       "rest_url": "http://127.0.0.1:9"}}},
                    "strategies": [{"name": "s", "strategy": "xs_round_trip",
                                    "symbol": "BTCUSDT", "capital": 1000}]})
                session = PaperSession(config, data_dir=tmp_path,
                                       journal_factory=lambda root: journal,
                                       venue_factory=lambda instruments, cash: venue,
                                       bar_source=history)
                task = asyncio.create_task(session.run())
                manager = session.execution.manager
                try:
                    # the market round trip: both fills heard by the strategy
                    await _wait(lambda: len(FILLS) >= 2, 15)
                    # then its resting limit, filled by the market trading through it
                    await _wait(lambda: any(o.is_open and o.limit_price == LIMIT
                                            for o in manager.orders()), 10)
                    exchange.trade("BTCUSDT", Decimal("48900"))
                    await _wait(lambda: len(FILLS) >= 3, 10)
                    assert not task.done()
                    heard_by = time.time_ns()
                finally:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        return session, heard_by

    session, heard_by = asyncio.run(run())
    # every fill reached on_fill while the session was running, in the exchange's order
    assert [(side, qty) for _, side, qty, _, _ in FILLS] == \
        [("buy", QTY), ("sell", QTY), ("buy", QTY)]
    assert FILLS[2][3] == LIMIT and all(wall <= heard_by for *_, wall in FILLS)
    # each of the exchange's trades journaled exactly once
    filled = [e.event for e in journal.events() if isinstance(e.event, OrderFilled)]
    assert sorted(f.trade_id for f in filled) == sorted(str(t.id) for t in exchange.trades)
    assert len(filled) == len(exchange.trades) == 3
    orders = session.execution.manager.orders()
    assert [o.status for o in orders] == [OrderStatus.FILLED] * 3
    # the session's books equal the account's: position, and cash moved by as much
    inst = session.instruments["BTCUSDT"]
    ledger = session.execution.ledgers["s"]
    assert inst.quantity(ledger.position) == _account(exchange, "BTC") == QTY
    assert inst.money(ledger.cash) - Decimal(1000) == _account(exchange, "USDT") - usdt0
    assert session.execution.positions() == {"s": {"BTCUSDT": QTY}}
    # the strategy's own view too (its context books the fills it heard)
    runner = session.runners[0]
    assert runner.ctx.ledger.position == ledger.position
    assert runner.ctx.ledger.cash == ledger.cash
    # counted like a paper session's fills: three orders sent, three filled
    reg = session.metrics.registry
    assert reg.get_sample_value("fills_total", {"strategy": "s"}) == 3
    assert reg.get_sample_value("fill_rate", {"strategy": "s"}) == 1.0
    # the market orders filled at the exchange's last price, the same as the decision bar's
    # close: no slippage; the limit at its limit price
    assert reg.get_sample_value("slippage_bps", {"strategy": "s"}) == pytest.approx(0.0)
    assert session.venue_reports is not None and session.venue_reports.applied >= 3
    # and what ``status`` and the dashboard read: the snapshot saved at the end
    saved = (tmp_path / "sessions" / "exchange_fills" / "metrics.prom").read_text()
    assert 'fills_total{strategy="s"} 3.0' in saved
    assert 'fill_rate{strategy="s"} 1.0' in saved
