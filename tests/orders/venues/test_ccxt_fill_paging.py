"""A busy account's fills: the exchange answers one page of trades per request (500 by
default, the oldest first from the start time), so the venue pages through them, and its
fill poll moves its window with the account instead of asking from the session's start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest

from trading_strategy.orders.venues.base import FillReport
from trading_strategy.orders.venues.ccxt_venue import TRADES_PAGE, CcxtVenue
from trading_strategy.testing_exchange import FakeBinance, ServedApp

pytestmark = pytest.mark.asyncio

Fake = tuple[FakeBinance, ServedApp]
CcxtFactory = Callable[..., CcxtVenue]
MANY = 2 * TRADES_PAGE + 150


def trade_many(exchange: FakeBinance, count: int, prefix: str) -> None:
    for i in range(count):
        exchange.place_order("BTCUSDT", "BUY", Decimal("0.0001"),
                             client_order_id=f"{prefix}-{i}")


async def test_fetch_fills_pages_through_every_trade(fake_exchange: Fake,
                                                     make_ccxt_venue: CcxtFactory) -> None:
    exchange, _ = fake_exchange
    trade_many(exchange, MANY, "old")
    venue = make_ccxt_venue()
    try:
        fills = await venue.fetch_fills(0)
    finally:
        await venue.close()
    assert len(fills) == MANY
    assert len({f.trade_id for f in fills}) == MANY


async def test_the_fill_stream_keeps_up_with_a_busy_account(
        fake_exchange: Fake, make_ccxt_venue: CcxtFactory) -> None:
    exchange, _ = fake_exchange
    venue = make_ccxt_venue()
    stream = venue.reports()
    seen: list[FillReport] = []

    async def until(count: int) -> None:
        async with asyncio.timeout(20):
            while len(seen) < count:
                report = await stream.__anext__()
                if isinstance(report, FillReport):
                    seen.append(report)

    try:
        await asyncio.sleep(0.05)  # the stream's start is before the trades
        trade_many(exchange, MANY, "busy")
        await until(MANY)
        trade_many(exchange, 3, "later")  # past the first pages: still seen
        await until(MANY + 3)
        await asyncio.sleep(0.3)  # a few more polls: nothing published twice
        while not stream.queue.empty():
            report = stream.queue.get_nowait()
            if isinstance(report, FillReport):
                seen.append(report)
    finally:
        await venue.close()
    assert len(seen) == MANY + 3
    assert len({f.trade_id for f in seen}) == MANY + 3
