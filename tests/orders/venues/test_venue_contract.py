"""The Venue contract, run against every implementation (see conftest ``harness``):
PaperVenue in-process, PaperVenueClient over a loopback socket to the paper server, and
CcxtVenue against the fake Binance server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.instrument import Instrument
from trading_strategy.orders.venues.base import (
    FillReport,
    OrderRequest,
    StatusReport,
    Venue,
    VenueRejected,
)
from trading_strategy.orders.venues.paper import PaperVenue
from trading_strategy.orders.venues.paper_client import PaperVenueClient
from trading_strategy.orders.venues.paper_server import create_app
from trading_strategy.orders.venues.paper_store import PaperStore
from trading_strategy.testing_exchange import FakeBinance, ServedApp

pytestmark = pytest.mark.asyncio

MIN = 60 * 1_000_000_000
GOOG = Instrument("GOOG", tick_size=Decimal("0.01"))


@dataclass
class Harness:
    kind: str
    venue: Venue
    symbol: str
    qty: Decimal
    far_price: Decimal  # a buy limit this far below the market rests
    market_price: Decimal  # where a market order fills
    quote: str
    initial_cash: Decimal
    paper: PaperVenue | None = None
    client: PaperVenueClient | None = None
    exchange: FakeBinance | None = None
    bar_no: int = 0

    async def _bar(self, o: float, h: float, lo: float, c: float) -> None:
        self.bar_no += 1
        bar = Bar(self.symbol, self.bar_no * MIN, o, h, lo, c, 1e6)
        if self.paper is not None:
            self.paper.on_bar(self.symbol, bar)
        elif self.client is not None:
            await self.client.push_bar(self.symbol, bar)

    async def start(self) -> None:
        """Give the paper venues a first bar so that later orders wait for the next one."""
        if self.exchange is None:
            await self._bar(100, 100, 100, 100)

    async def market_event(self) -> None:
        """Whatever makes a pending market order fill at ``market_price``."""
        if self.exchange is None:
            p = float(self.market_price)
            await self._bar(p, p + 1, p - 1, p)

    async def trade_through(self, price: Decimal) -> None:
        """The market trades down through ``price`` (resting buy limits there fill)."""
        if self.exchange is not None:
            await asyncio.to_thread(self.exchange.trade, self.symbol, price)
        else:
            p = float(price)
            await self._bar(p + 2, p + 3, p - 1, p)

    async def ready(self, stream: Any) -> None:
        event = getattr(stream, "connected", None)
        if event is not None:
            await asyncio.wait_for(event.wait(), 5)


async def next_report(stream: Any, *, kind: type, cid: str, timeout: float = 5) -> Any:
    async def find() -> Any:
        report: Any
        async for report in stream:
            if isinstance(report, kind) and getattr(report, "client_order_id", None) == cid:
                return report
        raise AssertionError("stream ended")

    return await asyncio.wait_for(find(), timeout)


@pytest_asyncio.fixture(params=["paper", "paper_client", "ccxt"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path,
                  fake_exchange: tuple[FakeBinance, ServedApp],
                  make_ccxt_venue: Any) -> AsyncIterator[Harness]:
    kind = request.param
    if kind == "ccxt":
        exchange = fake_exchange[0]
        venue = make_ccxt_venue()
        h = Harness(kind, venue, "BTCUSDT", Decimal("0.01"), Decimal("40000.00"),
                    Decimal("50000.00"), "USDT", Decimal(100_000), exchange=exchange)
        await h.start()
        yield h
        await venue.close()
        return
    paper = PaperVenue([GOOG], store=PaperStore(tmp_path / "paper.sqlite3"))
    if kind == "paper":
        h = Harness(kind, paper, "GOOG", Decimal(10), Decimal("50.00"), Decimal("100.00"),
                    "USD", Decimal(100_000), paper=paper)
        await h.start()
        yield h
        await paper.close()
        return
    with ServedApp(create_app(paper)) as served:
        client = PaperVenueClient(served.url, timeout=3)
        await client.health()
        h = Harness(kind, client, "GOOG", Decimal(10), Decimal("50.00"), Decimal("100.00"),
                    "USD", Decimal(100_000), client=client)
        await h.start()
        yield h
        await client.close()


def limit_buy(h: Harness, cid: str) -> OrderRequest:
    return OrderRequest(cid, h.symbol, Side.BUY, OrderType.LIMIT, h.qty, h.far_price)


def market_buy(h: Harness, cid: str) -> OrderRequest:
    return OrderRequest(cid, h.symbol, Side.BUY, OrderType.MARKET, h.qty)


async def test_submit_is_acknowledged_and_the_order_is_known(harness: Harness) -> None:
    v = harness.venue
    ack = await v.submit(limit_buy(harness, "c-ack"))
    assert ack.client_order_id == "c-ack" and ack.venue_order_id
    assert ack.status is OrderStatus.ACCEPTED
    state = await v.fetch_order("c-ack")
    assert state is not None
    assert (state.symbol, state.side, state.order_type) == (harness.symbol, Side.BUY,
                                                            OrderType.LIMIT)
    assert (state.quantity, state.filled_quantity) == (harness.qty, Decimal(0))
    assert state.limit_price == harness.far_price and state.status is OrderStatus.ACCEPTED
    assert [o.client_order_id for o in await v.fetch_open_orders()] == ["c-ack"]
    assert [o.client_order_id for o in await v.fetch_open_orders(harness.symbol)] == ["c-ack"]
    assert await v.fetch_order("never-sent") is None


async def test_resubmit_with_the_same_client_id_never_makes_a_second_order(
        harness: Harness) -> None:
    v = harness.venue
    first = await v.submit(limit_buy(harness, "c-idem"))
    again = await v.submit(limit_buy(harness, "c-idem"))
    assert again.venue_order_id == first.venue_order_id
    assert len(await v.fetch_open_orders()) == 1
    filled = await v.submit(market_buy(harness, "c-idem-mkt"))
    await harness.market_event()
    await v.submit(market_buy(harness, "c-idem-mkt"))
    await harness.market_event()
    fills = [f for f in await v.fetch_fills() if f.client_order_id == "c-idem-mkt"]
    assert len(fills) == 1 and fills[0].venue_order_id == filled.venue_order_id
    assert (await v.fetch_positions())[harness.symbol] == harness.qty


async def test_cancel(harness: Harness) -> None:
    v = harness.venue
    stream = v.reports()
    await harness.ready(stream)
    await v.submit(limit_buy(harness, "c-cancel"))
    ack = await v.cancel("c-cancel")
    assert (ack.client_order_id, ack.status) == ("c-cancel", OrderStatus.CANCELLED)
    report = await next_report(stream, kind=StatusReport, cid="c-cancel")
    assert report.status is OrderStatus.CANCELLED
    state = await v.fetch_order("c-cancel")
    assert state is not None and state.status is OrderStatus.CANCELLED
    assert await v.fetch_open_orders() == []
    assert (await v.cancel("c-cancel")).status is OrderStatus.CANCELLED  # idempotent
    with pytest.raises(VenueRejected, match="unknown order"):
        await v.cancel("never-sent")


async def test_market_order_fill_is_reported_and_accounted(harness: Harness) -> None:
    v = harness.venue
    stream = v.reports()
    await harness.ready(stream)
    before = (await v.fetch_balances())[harness.quote]
    assert before == harness.initial_cash
    ack = await v.submit(market_buy(harness, "c-mkt"))
    assert ack.status in (OrderStatus.ACCEPTED, OrderStatus.FILLED)
    await harness.market_event()
    fill = await next_report(stream, kind=FillReport, cid="c-mkt")
    assert isinstance(fill, FillReport)
    assert (fill.symbol, fill.side, fill.quantity, fill.price) == (
        harness.symbol, Side.BUY, harness.qty, harness.market_price)
    assert fill.venue_order_id == ack.venue_order_id
    assert [f.trade_id for f in await v.fetch_fills()] == [fill.trade_id]
    state = await v.fetch_order("c-mkt")
    assert state is not None and state.status is OrderStatus.FILLED
    assert state.filled_quantity == harness.qty and state.avg_price == harness.market_price
    assert await v.fetch_positions() == {harness.symbol: harness.qty}
    after = (await v.fetch_balances())[harness.quote]
    assert after == before - fill.quantity * fill.price - fill.commission


async def test_resting_limit_fills_at_its_price(harness: Harness) -> None:
    v = harness.venue
    stream = v.reports()
    await harness.ready(stream)
    await v.submit(limit_buy(harness, "c-lmt"))
    await harness.trade_through(harness.far_price)
    fill = await next_report(stream, kind=FillReport, cid="c-lmt")
    assert isinstance(fill, FillReport) and fill.price == harness.far_price
    assert await v.fetch_open_orders() == []


async def test_refused_orders_raise_venue_rejected(harness: Harness) -> None:
    v = harness.venue
    with pytest.raises(VenueRejected):
        await v.submit(OrderRequest("c-bad-sym", "NOPE", Side.BUY, OrderType.MARKET,
                                    harness.qty))
    # far more than the account can pay: refused at submit (exchange) or at fill (paper,
    # the backtester's rule); either way nothing is bought and the cash is untouched
    broke = OrderRequest("c-broke", harness.symbol, Side.BUY, OrderType.LIMIT,
                         harness.qty * 1000, harness.market_price * 2)
    try:
        await v.submit(broke)
    except VenueRejected as exc:
        assert exc.client_order_id == "c-broke"
    else:
        await harness.market_event()
        state = await v.fetch_order("c-broke")
        assert state is not None and state.status is OrderStatus.REJECTED
    assert await v.fetch_fills() == []
    assert (await v.fetch_balances())[harness.quote] == harness.initial_cash
