"""Reconciliation after every reconnect, end to end: a session's execution (real order
manager, journal, risk engine) trading through ``CcxtVenue`` on the fake Binance over HTTP.
The fake goes offline (every request answered 503, as in an outage or maintenance); while
it is, a resting order fills at the exchange; when it comes back the venue signals the
reconnect and ``ReconnectReconciler`` applies the fill — once, however many reconnects
follow. What cannot be explained (an order someone else placed meanwhile) halts entries."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.orders.venues.ccxt_venue import CcxtVenue, ExchangeCredentials
from trading_strategy.risk.verdicts import TradingState
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.reconcile import ReconnectReconciler, signals_reconnects
from trading_strategy.runtime.session import PaperSession
from trading_strategy.testing_exchange import FakeBinance, ServedApp

KEY, SECRET = "key-reconnect", "secret-reconnect"
BTC = Instrument("BTCUSDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"),
                 venue="binance", asset_class=AssetClass.CRYPTO, currency="USDT",
                 calendar=Calendar.ALWAYS)
T0 = 1_717_200_000 * 10**9


def history(symbol: str, timeframe: str | None) -> BarSeries:
    ts = np.array([T0 + i * 60 * 10**9 for i in range(3)], dtype=np.int64)
    ones = np.ones(3)
    return BarSeries(BTC, Timeframe.parse("1m"), ts, 50000 * ones, 50010 * ones,
                     49990 * ones, 50000 * ones, ones)


class Rig:
    """A session's execution on the fake exchange, and the reconciler listening."""

    def __init__(self, tmp: Path, exchange: FakeBinance, url: str) -> None:
        self.exchange = exchange
        self.venue = CcxtVenue(["BTCUSDT"], credentials=ExchangeCredentials(KEY, SECRET),
                               api_url=url, timeout_ms=2000, poll_interval=0.05,
                               heartbeat_interval=0.05)
        config = parse_portfolio({
            "session": {"name": "reconnect"},
            "strategies": [{"name": "s", "strategy": "sma_crossover", "symbol": "BTCUSDT",
                            "capital": 1000, "size": "0.01"}]})
        self.session = PaperSession(config, data_dir=tmp,
                                    journal_factory=lambda root: InMemoryJournal(),
                                    venue_factory=lambda instruments, cash: self.venue,
                                    bar_source=history)
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.watch = ReconnectReconciler(self.session.execution, strict=True,
                                         record=lambda kind, data: self.events.append(
                                             (kind, data)))

    @property
    def execution(self) -> Any:
        return self.session.execution

    async def outage(self, during: Any = None) -> None:
        """Offline until the venue noticed, ``during()`` meanwhile, then online again."""
        self.exchange.go_offline()
        async with asyncio.timeout(5):
            while self.venue.link.up:
                await asyncio.sleep(0.01)
        if during is not None:
            during()
        self.exchange.go_online()


@contextlib.asynccontextmanager
async def rig(tmp: Path) -> AsyncIterator[Rig]:
    exchange = FakeBinance(api_key=KEY, secret=SECRET)
    with ServedApp(exchange.app()) as served:
        r = Rig(tmp, exchange, served.url)
        task = asyncio.create_task(r.watch.run())
        await asyncio.sleep(0.05)  # listening (the venue's heartbeat runs)
        try:
            yield r
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await r.venue.close()
            r.session.files.release()


def limit_buy(cid: str) -> OrderIntent:
    return OrderIntent(client_order_id=cid, strategy="s", symbol="BTCUSDT", side=Side.BUY,
                       lots=1000, order_type=OrderType.LIMIT, limit_ticks=4_900_000,
                       ts_init=T0 + 3 * 60 * 10**9, decision_ticks=5_000_000)


def test_the_ccxt_venue_signals_reconnects() -> None:
    venue = CcxtVenue(["BTCUSDT"], credentials=ExchangeCredentials(KEY, SECRET))
    assert signals_reconnects(venue)


def test_a_fill_made_while_the_exchange_was_unreachable_is_applied_once(
        tmp_path: Path) -> None:
    async def scenario() -> tuple[Rig, list[Any]]:
        async with rig(tmp_path) as r:
            result = await r.execution.submit(limit_buy("s-1"))
            assert result.status == "accepted", result
            # the order rests; the market trades through it while we cannot see
            await r.outage(lambda: r.exchange.trade("BTCUSDT", Decimal("48900")))
            first = list(await r.watch.wait_runs(1))
            order = r.execution.manager.get("s-1")
            assert order.status is OrderStatus.FILLED
            assert order.trade_ids == frozenset({"1"})
            position = r.execution.ledgers["s"].position
            # more outages, nothing new at the exchange: nothing applied again
            await r.outage()
            await r.watch.wait_runs(2)
            await r.outage()
            reports = await r.watch.wait_runs(3)
            assert r.execution.ledgers["s"].position == position == 1000
            return r, [first[0], *reports[1:]]

    r, reports = asyncio.run(scenario())
    assert [rep.missing_fills for rep in reports] == [["s-1/1"], [], []]
    assert all(rep.clean for rep in reports) and not r.watch.failed
    assert r.execution.risk.state("s") is TradingState.ACTIVE
    kinds = [(kind, data["trigger"], data["clean"]) for kind, data in r.events]
    assert kinds == [("reconciliation", "reconnect", True)] * 3
    first = r.events[0][1]
    assert first["venue"] == "binance"
    assert first["outage_reason"].startswith("ExchangeNotAvailable")
    assert first["down_since_ns"] < first["reconnected_ns"]


def test_an_order_someone_placed_during_the_outage_halts_entries_with_the_reason(
        tmp_path: Path) -> None:
    async def scenario() -> Rig:
        async with rig(tmp_path) as r:
            await r.outage(lambda: r.exchange.place_order(
                "BTCUSDT", "BUY", Decimal("0.001"), Decimal("40000"),
                client_order_id="web-ui-7"))
            await r.watch.wait_runs(1)
            # a new entry is refused now; the reason says what was found
            refused = await r.execution.submit(limit_buy("s-2"))
            assert refused.status == "denied", refused
            return r

    r = asyncio.run(scenario())
    [report] = r.watch.reports
    assert not report.clean and report.unknown_venue_orders == ["web-ui-7"]
    assert report.halt_reasons == {"s": "reconciliation found an open order at the venue "
                                        "(web-ui-7) we never created"}
    assert r.execution.risk.state("s") is TradingState.HALTED
    assert r.events[0][0] == "reconciliation" and r.events[0][1]["clean"] is False


def test_a_run_cut_short_by_a_new_outage_waits_for_the_next_reconnect(
        tmp_path: Path) -> None:
    async def scenario() -> Rig:
        async with rig(tmp_path) as r:
            # the first answer after the outage is the heartbeat's; the reconcile's requests
            # after it meet the exchange down again
            r.exchange.go_offline()
            async with asyncio.timeout(5):
                while r.venue.link.up:
                    await asyncio.sleep(0.01)
            r.exchange.fail_next(503, count=1000, path="openOrders")
            r.exchange.go_online()
            async with asyncio.timeout(5):
                while not r.watch.failed:
                    await asyncio.sleep(0.01)
            r.exchange.faults.http_errors.clear()
            await r.watch.wait_runs(1)
            return r

    r = asyncio.run(scenario())
    assert r.watch.failed >= 1
    assert r.events[0][0] == "reconciliation_failed"
    assert r.watch.reports[-1].clean


@pytest.mark.parametrize("status", [429])
def test_a_rate_limit_is_not_an_outage(tmp_path: Path, status: int) -> None:
    async def scenario() -> Rig:
        async with rig(tmp_path) as r:
            r.exchange.fail_next(status, count=3)
            await asyncio.sleep(0.3)
            return r

    r = asyncio.run(scenario())
    assert r.venue.link.reconnect_count == 0 and r.watch.reports == []
