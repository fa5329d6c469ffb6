"""A live session on an exchange account (``[venue] kind = "ccxt"``, the fake Binance over
HTTP, bars from the fake's WebSocket) reconciles after the exchange comes back from an
outage: a fill made meanwhile is journaled once and the run is in the session's events.
Needs the session's hook (``ReconnectReconciler`` under its supervisor)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from decimal import Decimal
from pathlib import Path

import numpy as np

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.orders.venues.ccxt_venue import CcxtVenue, ExchangeCredentials
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession
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

KEY, SECRET = "key-session", "secret-session"
BTC = Instrument("BTCUSDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"),
                 venue="binance", asset_class=AssetClass.CRYPTO, currency="USDT",
                 calendar=Calendar.ALWAYS)
T0_MS = 1717200000000
MINUTE_MS = 60_000
MS = 1_000_000


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


def test_a_live_session_reconciles_after_the_exchange_comes_back(tmp_path: Path) -> None:
    # bars keep coming (slowly) so the session runs through the outage
    script: list[Step] = [AwaitRequest(), *[s for m in range(40)
                                            for s in (Send(kline(m)), Pause(0.1))]]

    async def run() -> tuple[PaperSession, list[dict[str, object]]]:
        exchange = FakeBinance(api_key=KEY, secret=SECRET)
        with ServedApp(exchange.app()) as served:
            venue = CcxtVenue(["BTCUSDT"], credentials=ExchangeCredentials(KEY, SECRET),
                              api_url=served.url, timeout_ms=2000, poll_interval=0.05,
                              heartbeat_interval=0.05)
            async with FakeStreamServer([script], reply=binance_reply) as server:
                config = parse_portfolio({
                    "session": {"name": "exchange"},
                    "venue": {"kind": "ccxt", "exchange": "binance"},
                    "data": {"default": {"providers": ["binance"], "timeframe": "1m",
                                         "stale_after": 1000},
                             "providers": {"binance": {"ws_url": server.url,
                                                       "rest_url": "http://127.0.0.1:9"}}},
                    "strategies": [{"name": "s", "strategy": "sma_crossover",
                                    "symbol": "BTCUSDT", "capital": 1000, "size": "0.01"}]})
                session = PaperSession(config, data_dir=tmp_path,
                                       journal_factory=lambda root: InMemoryJournal(),
                                       venue_factory=lambda instruments, cash: venue,
                                       bar_source=history)
                task = asyncio.create_task(session.run())
                try:
                    await asyncio.sleep(0.5)
                    result = await session.execution.submit(OrderIntent(
                        client_order_id="s-hand-1", strategy="s", symbol="BTCUSDT",
                        side=Side.BUY, lots=1000, order_type=OrderType.LIMIT,
                        limit_ticks=4_900_000, ts_init=T0_MS * MS,
                        decision_ticks=5_000_000))
                    assert result.status == "accepted", result
                    exchange.go_offline()
                    async with asyncio.timeout(5):
                        while venue.link.up:
                            await asyncio.sleep(0.01)
                    exchange.trade("BTCUSDT", Decimal("48900"))
                    exchange.go_online()
                    async with asyncio.timeout(10):
                        while session.execution.manager.get("s-hand-1").status \
                                is not OrderStatus.FILLED:
                            await asyncio.sleep(0.02)
                finally:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        events = [json.loads(line) for line in
                  (tmp_path / "sessions" / "exchange" / "events.jsonl").read_text()
                  .splitlines()]
        return session, events

    session, events = asyncio.run(run())
    runs = [e for e in events if e["kind"] == "reconciliation"]
    # on start, then after the reconnect (strict: an exchange account)
    assert [r.get("trigger") for r in runs][:2] == [None, "reconnect"]
    after = runs[1]
    # the fill made during the outage reaches the session once: through the reconciliation
    # after the reconnect, or through the venue's fill stream when its poll got there first
    assert after["missing_fills"] in ([], ["s-hand-1/1"]) and after["clean"] is True
    order = session.execution.manager.get("s-hand-1")
    assert order.trade_ids == frozenset({"1"})
    assert session.execution.ledgers["s"].position == 1000
