"""``VenueLink``: an outage starts at the first call without an answer and ends at the first
answer after it (one reconnect signal per outage, to every listener)."""

from __future__ import annotations

import asyncio

from trading_strategy.orders.venues.link import VenueLink, VenueReconnected


def test_one_signal_per_outage_to_every_listener() -> None:
    async def run() -> tuple[list[VenueReconnected], list[VenueReconnected], VenueLink]:
        times = iter(range(100, 1000, 100))
        link = VenueLink("x", clock_ns=lambda: next(times))
        first, second = link.reconnects(), link.reconnects()
        link.answered()  # up all along: nothing
        link.failed("RequestTimeout: slow")
        link.failed("ExchangeNotAvailable: 503")
        link.answered()
        link.answered()
        link.failed("NetworkError: reset")
        link.answered()
        link.close()
        return [s async for s in first], [s async for s in second], link

    first, second, link = asyncio.run(run())
    assert first == second == [
        VenueReconnected("x", 100, 200, "RequestTimeout: slow", 2),
        VenueReconnected("x", 300, 400, "NetworkError: reset", 1)]
    assert link.up and link.reconnect_count == 2 and not link.listened


def test_drain_folds_waiting_signals_and_keeps_the_end() -> None:
    async def run() -> tuple[int, list[VenueReconnected]]:
        link = VenueLink("x", clock_ns=lambda: 1)
        stream = link.reconnects()
        for _ in range(3):
            link.failed("down")
            link.answered()
        link.close()
        return stream.drain(), [s async for s in stream]

    assert asyncio.run(run()) == (3, [])
