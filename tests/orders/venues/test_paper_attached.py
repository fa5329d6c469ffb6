"""PaperVenue: attached exits (``OrderRequest.parent_id``), uncapped all-in orders and latency
across a gap follow the backtest engine's rules (tick 0.01; one-minute bars)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.instrument import Instrument
from trading_strategy.orders.venues.base import FillReport, OrderRequest
from trading_strategy.orders.venues.paper import PaperVenue, PaperVenueConfig
from trading_strategy.orders.venues.paper_server import OrderIn
from trading_strategy.orders.venues.paper_store import PaperStore

pytestmark = pytest.mark.asyncio

MIN = 60 * 1_000_000_000
GOOG = Instrument("GOOG", tick_size=Decimal("0.01"))


def bar(i: int, o: float, h: float, lo: float, c: float) -> Bar:
    return Bar("GOOG", i * MIN, o, h, lo, c, 1e6)


def stop_exit(cid: str, stop: str, parent: str | None) -> OrderRequest:
    return OrderRequest(cid, "GOOG", Side.SELL, OrderType.STOP, Decimal(10),
                        stop_price=Decimal(stop), reduce_only=True, parent_id=parent)


def fills(reports: list[object]) -> list[tuple[str, Decimal]]:
    return [(r.client_order_id, r.price) for r in reports if isinstance(r, FillReport)]


async def entry_filled_at_open(latency_ms: int = 60_000) -> PaperVenue:
    v = PaperVenue([GOOG], config=PaperVenueConfig(latency_ms=latency_ms))
    v.on_bar("GOOG", bar(0, 100, 100, 100, 100))
    await v.submit(OrderRequest("e1", "GOOG", Side.BUY, OrderType.MARKET, Decimal(10)))
    v.on_bar("GOOG", bar(1, 100, 100, 100, 100))  # 60 s latency: not yet live
    assert fills(v.on_bar("GOOG", bar(2, 100, 101, 95, 96))) == [("e1", Decimal(100))]
    return v


async def test_an_exit_of_an_entry_filled_at_the_open_is_live_for_the_rest_of_its_bar() -> None:
    v = await entry_filled_at_open()
    await v.submit(stop_exit("e1-sl", "97.00", "e1"))
    # the same bar again: the rest of it, for that exit only (no latency)
    assert fills(v.on_bar("GOOG", bar(2, 100, 101, 95, 96))) == [("e1-sl", Decimal(97))]
    assert await v.fetch_positions() == {}
    assert v.on_bar("GOOG", bar(2, 100, 101, 95, 96)) == []  # nothing fresh left


async def test_an_order_without_a_parent_waits_for_the_next_bar_and_the_latency() -> None:
    v = await entry_filled_at_open()
    await v.submit(stop_exit("x1", "97.00", None))
    assert v.on_bar("GOOG", bar(2, 100, 101, 95, 96)) == []  # a repeated bar: ignored
    assert v.on_bar("GOOG", bar(3, 96, 96, 90, 90)) == []  # active 60 s into bar 3
    assert fills(v.on_bar("GOOG", bar(4, 96, 96, 90, 90))) == [("x1", Decimal(96))]


async def test_an_attached_exit_placed_later_starts_next_bar_without_latency() -> None:
    v = await entry_filled_at_open()
    v.on_bar("GOOG", bar(3, 100, 100, 99, 100))
    # a trailing stop moved after bar 3 (the entry's fill is not at this bar's open)
    await v.submit(stop_exit("e1-sl2", "98.00", "e1"))
    assert v.on_bar("GOOG", bar(3, 100, 100, 99, 100)) == []
    assert fills(v.on_bar("GOOG", bar(4, 99, 99, 90, 90))) == [("e1-sl2", Decimal(98))]
    order = await v.fetch_order("e1-sl2")
    assert order is not None and order.status is OrderStatus.FILLED


async def all_in(capped: bool) -> Decimal:
    v = PaperVenue([GOOG], config=PaperVenueConfig(initial_cash={"USD": Decimal(1000)}))
    v.on_bar("GOOG", bar(0, 100, 100, 100, 100))
    # 10 at the decision price 100; the next open gapped down to 50
    await v.submit(OrderRequest("a1", "GOOG", Side.BUY, OrderType.MARKET, Decimal(10),
                                size_at_fill=True, quantity_is_cap=capped))
    (fill,) = [r for r in v.on_bar("GOOG", bar(1, 50, 50, 50, 50))
               if isinstance(r, FillReport)]
    assert fill.order_quantity == fill.quantity
    return fill.quantity


async def test_an_uncapped_all_in_buy_takes_what_the_cash_pays_at_the_fill() -> None:
    assert await all_in(capped=False) == 20
    assert await all_in(capped=True) == 10


async def test_server_carries_parent_and_cap() -> None:
    body = {"client_order_id": "e1-sl", "symbol": "GOOG", "side": "sell",
            "order_type": "stop", "quantity": "1", "stop_price": "1", "parent_id": "e1",
            "quantity_is_cap": False}
    request = OrderIn.model_validate(body).to_domain()
    assert (request.parent_id, request.quantity_is_cap) == ("e1", False)


async def test_latency_counts_from_the_decision_bars_close_across_a_gap() -> None:
    # one-minute bars 0, 1, then a gap to 10: an order decided after bar 1 (its close at
    # minute 2) reaches the venue 30 s later, before bar 10 opens: it fills at bar 10
    # (the backtester's latency_ms rule), not 30 s into bar 10 (at bar 11)
    v = PaperVenue([GOOG], config=PaperVenueConfig(latency_ms=30_000))
    v.on_bar("GOOG", bar(0, 100, 100, 100, 100))
    v.on_bar("GOOG", bar(1, 100, 100, 100, 100))
    await v.submit(OrderRequest("m1", "GOOG", Side.BUY, OrderType.MARKET, Decimal(1)))
    assert fills(v.on_bar("GOOG", bar(10, 101, 101, 101, 101))) == [("m1", Decimal(101))]
    # without a gap the latency still holds the order past the next bar's open
    await v.submit(OrderRequest("m2", "GOOG", Side.BUY, OrderType.MARKET, Decimal(1)))
    assert v.on_bar("GOOG", bar(11, 102, 102, 102, 102)) == []
    assert fills(v.on_bar("GOOG", bar(12, 103, 103, 103, 103))) == [("m2", Decimal(103))]


async def test_an_uncapped_all_in_order_stays_uncapped_across_a_venue_restart(
        tmp_path: Path) -> None:
    path = tmp_path / "venue.sqlite3"
    config = PaperVenueConfig(initial_cash={"USD": Decimal(1000)})
    v = PaperVenue([GOOG], config=config, store=PaperStore(path))
    v.on_bar("GOOG", bar(0, 100, 100, 100, 100))
    await v.submit(OrderRequest("a1", "GOOG", Side.BUY, OrderType.MARKET, Decimal(10),
                                size_at_fill=True, quantity_is_cap=False))
    await v.close()
    again = PaperVenue([GOOG], config=config, store=PaperStore(path))
    (fill,) = [r for r in again.on_bar("GOOG", bar(1, 50, 50, 50, 50))
               if isinstance(r, FillReport)]
    assert fill.quantity == 20
    await again.close()


async def test_an_older_store_file_gains_the_cap_column_and_reads_it_as_a_cap(
        tmp_path: Path) -> None:
    path = tmp_path / "venue.sqlite3"
    v = PaperVenue([GOOG], config=PaperVenueConfig(initial_cash={"USD": Decimal(1000)}),
                   store=PaperStore(path))
    v.on_bar("GOOG", bar(0, 100, 100, 100, 100))
    await v.submit(OrderRequest("a1", "GOOG", Side.BUY, OrderType.MARKET, Decimal(10),
                                size_at_fill=True, quantity_is_cap=False))
    await v.close()
    with sqlite3.connect(path) as conn:  # as a file written before the column existed
        conn.execute("ALTER TABLE paper_orders DROP COLUMN quantity_is_cap")
    again = PaperVenue([GOOG], store=PaperStore(path))
    (fill,) = [r for r in again.on_bar("GOOG", bar(1, 50, 50, 50, 50))
               if isinstance(r, FillReport)]
    assert fill.quantity == 10  # the safe reading of an order of unknown kind
    await again.close()


async def test_a_venue_restarted_within_the_bar_keeps_an_open_fill_s_exits_live(
        tmp_path: Path) -> None:
    """Killed after the entry filled at the bar's open, before its exits were placed: the
    exits placed after the restart are live for the rest of that bar, as without the kill."""
    path = tmp_path / "venue.sqlite3"
    v = PaperVenue([GOOG], config=PaperVenueConfig(latency_ms=60_000), store=PaperStore(path))
    v.on_bar("GOOG", bar(0, 100, 100, 100, 100))
    await v.submit(OrderRequest("e1", "GOOG", Side.BUY, OrderType.MARKET, Decimal(10)))
    v.on_bar("GOOG", bar(1, 100, 100, 100, 100))
    assert fills(v.on_bar("GOOG", bar(2, 100, 101, 95, 96))) == [("e1", Decimal(100))]
    await v.close()
    again = PaperVenue([GOOG], config=PaperVenueConfig(latency_ms=60_000),
                       store=PaperStore(path))
    await again.submit(stop_exit("e1-sl", "97.00", "e1"))
    assert fills(again.on_bar("GOOG", bar(2, 100, 101, 95, 96))) == [("e1-sl", Decimal(97))]
    await again.close()
