"""``VenueReports``: an exchange's own reports applied while a session runs — one at a time
with the execution component's other work, and without losing a fill when the component
fails and is restarted. A session's execution (real order manager, journal, risk engine)
trades through ``CcxtVenue`` on the fake Binance over HTTP; the component runs under a real
supervisor."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.orders.events import OrderEvent, OrderFilled
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.orders.venues.base import QueuedReportStream
from trading_strategy.orders.venues.ccxt_venue import CcxtVenue, ExchangeCredentials
from trading_strategy.risk.verdicts import TradingState
from trading_strategy.runtime.lifecycle import Backoff, RestartIntensity
from trading_strategy.runtime.portfolio_config import parse_portfolio
from trading_strategy.runtime.session import PaperSession
from trading_strategy.runtime.supervisor import Supervisor
from trading_strategy.runtime.venue_reports import VenueReports, needs_report_stream
from trading_strategy.testing_exchange import FakeBinance, ServedApp

KEY, SECRET = "key-reports", "secret-reports"
BTC = Instrument("BTCUSDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"),
                 venue="binance", asset_class=AssetClass.CRYPTO, currency="USDT",
                 calendar=Calendar.ALWAYS)
T0 = 1_717_200_000 * 10**9


def history(symbol: str, timeframe: str | None) -> BarSeries:
    ts = np.array([T0 + i * 60 * 10**9 for i in range(3)], dtype=np.int64)
    ones = np.ones(3)
    return BarSeries(BTC, Timeframe.parse("1m"), ts, 50000 * ones, 50010 * ones,
                     49990 * ones, 50000 * ones, ones)


class FailingOnce(InMemoryJournal):
    """A journal whose first ``times`` writes of a fill fail (a full disk, a lost
    database)."""

    def __init__(self, times: int = 1) -> None:
        super().__init__()
        self.failures = 0
        self.times = times

    def append(self, event: OrderEvent, from_status: OrderStatus | None,
               to_status: OrderStatus) -> None:
        if isinstance(event, OrderFilled) and self.failures < self.times:
            self.failures += 1
            raise OSError("disk full")
        super().append(event, from_status, to_status)


class Rig:
    def __init__(self, tmp: Path, exchange: FakeBinance, url: str,
                 journal: InMemoryJournal) -> None:
        self.exchange = exchange
        self.journal = journal
        self.venue = CcxtVenue(["BTCUSDT"], credentials=ExchangeCredentials(KEY, SECRET),
                               api_url=url, timeout_ms=5000, poll_interval=0.05)
        config = parse_portfolio({
            "session": {"name": "reports"},
            "venue": {"kind": "ccxt", "exchange": "binance"},
            "strategies": [{"name": "s", "strategy": "sma_crossover", "symbol": "BTCUSDT",
                            "capital": 1000, "size": "0.01"}]})
        self.session = PaperSession(config, data_dir=tmp,
                                    journal_factory=lambda root: journal,
                                    venue_factory=lambda instruments, cash: self.venue,
                                    bar_source=history)
        assert self.session.venue_reports is not None  # an exchange: no bar feed
        self.reports: VenueReports = self.session.venue_reports
        # the session's own lifecycle sink: what it does when the component fails for good
        self.supervisor = Supervisor(name="test", backoff=Backoff(initial=0.01, max=0.05),
                                     intensity=RestartIntensity(max_restarts=2),
                                     sink=self.session._lifecycle)

    @property
    def execution(self) -> Any:
        return self.session.execution

    def transitions(self, oid: str) -> list[tuple[str | None, str]]:
        return [(None if e.from_status is None else e.from_status.value, e.to_status.value)
                for e in self.journal.events() if e.event.order_id == oid]


@contextlib.asynccontextmanager
async def rig(tmp: Path, journal: InMemoryJournal | None = None) -> AsyncIterator[Rig]:
    exchange = FakeBinance(api_key=KEY, secret=SECRET)
    with ServedApp(exchange.app()) as served:
        r = Rig(tmp, exchange, served.url,
                journal if journal is not None else InMemoryJournal())
        r.reports.open()
        r.supervisor.add(r.reports)
        await r.supervisor.start()
        try:
            yield r
        finally:
            await r.supervisor.stop(timeout=5)
            await r.venue.close()
            r.session.files.release()


def intent(cid: str, order_type: OrderType = OrderType.LIMIT) -> OrderIntent:
    return OrderIntent(client_order_id=cid, strategy="s", symbol="BTCUSDT", side=Side.BUY,
                       lots=1000, order_type=order_type,
                       limit_ticks=4_900_000 if order_type is OrderType.LIMIT else None,
                       ts_init=T0 + 3 * 60 * 10**9, decision_ticks=5_000_000)


async def until(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def test_only_a_venue_without_a_bar_feed_needs_the_stream() -> None:
    venue = CcxtVenue(["BTCUSDT"], credentials=ExchangeCredentials(KEY, SECRET))
    assert needs_report_stream(venue, fed_in_process=False)
    assert not needs_report_stream(venue, fed_in_process=True)  # paper: the feed answers
    assert not needs_report_stream(object(), fed_in_process=False)


def test_a_resting_order_filled_later_is_applied_once_and_published(tmp_path: Path) -> None:
    async def run() -> None:
        async with rig(tmp_path) as r:
            assert r.execution.serialised
            result = await r.execution.submit(intent("s-1"))
            assert result.status == "accepted"
            r.exchange.trade("BTCUSDT", Decimal("48900"))
            await r.reports.wait_applied(1)
            await asyncio.sleep(0.3)  # more polls: the fill is not applied again
            assert r.transitions("s-1") == [(None, "created"), ("created", "submitted"),
                                            ("submitted", "accepted"), ("accepted", "filled")]
            assert r.execution.ledgers["s"].position == 1000
            assert r.reports.applied == 1
        # stopped: the subscription is closed
        assert not r.venue._streams

    asyncio.run(run())


def test_a_fill_that_races_the_submit_waits_for_its_ack(tmp_path: Path) -> None:
    """A market order fills at the exchange at once, but the answer to the submit is late:
    the poll reports the fill meanwhile. Applied then, the journal would say SUBMITTED →
    FILLED and drop the ack; serialised, the fill waits for the submit to finish."""

    async def run() -> None:
        async with rig(tmp_path) as r:
            r.exchange.stall_next_order(0.6, create=True)
            result = await r.execution.submit(intent("s-m", OrderType.MARKET))
            assert result.status == "accepted"
            await r.reports.wait_applied(1)
            assert r.transitions("s-m") == [(None, "created"), ("created", "submitted"),
                                            ("submitted", "accepted"), ("accepted", "filled")]

    asyncio.run(run())


def test_a_failure_while_applying_loses_no_fill(tmp_path: Path) -> None:
    journal = FailingOnce()

    async def run() -> None:
        async with rig(tmp_path, journal) as r:
            await r.execution.submit(intent("s-1"))
            r.exchange.trade("BTCUSDT", Decimal("48900"))
            await until(lambda: r.reports.restarts == 1)
            await r.reports.wait_applied(1)
            assert journal.failures == 1
            assert r.execution.manager.get("s-1").status is OrderStatus.FILLED
            assert r.execution.ledgers["s"].position == 1000
            fills = [e for e in journal.events() if isinstance(e.event, OrderFilled)]
            assert len(fills) == 1

    asyncio.run(run())


def test_a_fill_made_while_the_stream_was_gone_is_applied_after_it_comes_back(
        tmp_path: Path) -> None:
    """The venue drops the subscription (its poller stops), an order fills, then the stream
    ends: the restarted component subscribes again and fetches the fills since the last one
    it applied."""

    async def run() -> None:
        async with rig(tmp_path) as r:
            await r.execution.submit(intent("s-1"))
            old = r.reports._stream
            assert isinstance(old, QueuedReportStream)
            r.venue._streams.discard(old)
            await until(lambda: r.venue._poller is not None and r.venue._poller.done())
            r.exchange.trade("BTCUSDT", Decimal("48900"))
            await asyncio.sleep(0.2)
            assert r.execution.manager.get("s-1").status is OrderStatus.ACCEPTED
            old.queue.put_nowait(None)  # the end of the old stream
            await r.reports.wait_applied(1)
            assert r.reports.restarts == 1
            assert r.execution.manager.get("s-1").status is OrderStatus.FILLED
            assert r.execution.ledgers["s"].position == 1000

    asyncio.run(run())


def test_reports_that_cannot_be_applied_for_good_halt_the_portfolio(tmp_path: Path) -> None:
    """Trading on while blind to its fills would be wrong on every count (positions, exits,
    loss limits): when the component fails past its restarts, entries are refused."""
    journal = FailingOnce(times=100)

    async def run() -> None:
        async with rig(tmp_path, journal) as r:
            assert (await r.execution.submit(intent("s-1"))).status == "accepted"
            r.exchange.trade("BTCUSDT", Decimal("48900"))
            await until(lambda: "venue-reports" in r.session.result.failed)
            assert r.execution.risk.state(None) is TradingState.HALTED
            refused = await r.execution.submit(intent("s-2"))
            assert refused.status == "denied"

    asyncio.run(run())
