"""Fill rate and slippage: one definition, for live metrics and for a journal read back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.core.enums import OrderType, Side
from trading_strategy.observability.order_stats import (
    ALL_TYPES,
    order_stats,
    reference_price,
    slippage_bps,
)
from trading_strategy.orders.events import (
    OrderAccepted,
    OrderCancelled,
    OrderCreated,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from trading_strategy.orders.journal import InMemoryJournal
from trading_strategy.orders.state import ManagedOrder, evolve

D = Decimal


class _Book:
    """Appends real order events to a real in-memory journal, transitions checked."""

    def __init__(self) -> None:
        self.journal = InMemoryJournal()
        self._orders: dict[str, ManagedOrder] = {}
        self._t = 0

    def _apply(self, event: OrderEvent) -> None:
        before = self._orders.get(event.order_id)
        after = evolve(before, event)
        self.journal.append(event, None if before is None else before.status,
                            after.status)
        self._orders[event.order_id] = after

    def _env(self, oid: str) -> dict[str, Any]:
        self._t += 1
        return {"order_id": oid, "ts_event": self._t, "ts_init": self._t, "cause": "t",
                "actor": "test"}

    def order(self, oid: str, side: Side, kind: OrderType, qty: str, *,
              decision: str | None = None, limit: str | None = None,
              stop: str | None = None, strategy: str = "s", send: bool = True) -> None:
        self._apply(OrderCreated(
            **self._env(oid), strategy=strategy, symbol="X", side=side,
            order_type=kind, quantity=D(qty),
            decision_price=None if decision is None else D(decision),
            limit_price=None if limit is None else D(limit),
            stop_price=None if stop is None else D(stop)))
        if send:
            self._apply(OrderSubmitted(**self._env(oid)))
            self._apply(OrderAccepted(**self._env(oid), venue_order_id=f"v-{oid}"))

    def fill(self, oid: str, qty: str, price: str) -> None:
        self._apply(OrderFilled(**self._env(oid), trade_id=f"t{self._t}",
                                quantity=D(qty), price=D(price)))

    def cancel(self, oid: str) -> None:
        self._apply(OrderCancelled(**self._env(oid)))


def test_reference_price_is_the_orders_own() -> None:
    prices = {"decision_price": D(100), "limit_price": D(105), "stop_price": D(96)}
    assert reference_price(OrderType.MARKET, **prices) == D(100)
    assert reference_price(OrderType.LIMIT, **prices) == D(105)
    assert reference_price(OrderType.STOP, **prices) == D(96)
    assert reference_price(OrderType.STOP_LIMIT, **prices) == D(96)  # the trigger, not limit
    assert reference_price("market", decision_price=None, limit_price=None,
                           stop_price=None) is None


def test_slippage_sign_is_adverse_positive() -> None:
    assert slippage_bps(Side.BUY, D(100), D("100.5")) == D(50)     # paid more
    assert slippage_bps(Side.BUY, D(100), D("99.5")) == D(-50)     # paid less
    assert slippage_bps(Side.SELL, D(100), D("99.5")) == D(50)     # received less
    assert slippage_bps(Side.SELL, D(100), D("100.5")) == D(-50)
    assert slippage_bps(Side.SELL, None, D(1)) is None
    assert slippage_bps(Side.SELL, D(0), D(1)) is None


def test_a_stop_exit_is_measured_against_its_stop_not_the_entry() -> None:
    """Issue 8 item 10: a stop exit compared with its decision price (the entry fill)
    showed thousands of bps; against its stop it is the gap through the stop."""
    book = _Book()
    book.order("entry", Side.BUY, OrderType.MARKET, "10", decision="100")
    book.fill("entry", "10", "100.02")
    # the exit's decision price is the entry's fill price (how the runtime places exits)
    book.order("entry-sl", Side.SELL, OrderType.STOP, "10", decision="100.02", stop="96")
    book.fill("entry-sl", "10", "95.9")
    stop = order_stats(book.journal.events())["s"]["stop"]
    expected = (D(96) - D("95.9")) / D(96) * 10_000            # 10.4166… bps, adverse
    assert stop.mean_slippage_bps == pytest.approx(float(expected))
    assert stop.worst_bps == expected
    assert stop.worst_bps < 11                                # not the 412 bps vs the entry


def test_a_limit_fill_better_than_its_limit_is_negative() -> None:
    book = _Book()
    book.order("tp", Side.SELL, OrderType.LIMIT, "5", decision="100", limit="106")
    book.fill("tp", "5", "107.06")                            # gapped through: better
    tp = order_stats(book.journal.events())["s"]["limit"]
    assert tp.mean_slippage_bps == pytest.approx(-100.0)


def test_fill_rate_and_outcomes_by_order_type() -> None:
    book = _Book()
    book.order("m1", Side.BUY, OrderType.MARKET, "10", decision="100")
    book.fill("m1", "4", "100.1")                             # partial …
    book.fill("m1", "6", "100.2")                             # … then complete
    book.order("m2", Side.BUY, OrderType.MARKET, "10", decision="100")
    book.fill("m2", "5", "101")                               # still working, partial
    book.order("l1", Side.SELL, OrderType.LIMIT, "10", limit="110")
    book.cancel("l1")
    book.order("l2", Side.SELL, OrderType.LIMIT, "10", limit="110", send=False)  # never sent
    book._apply(OrderCreated(**book._env("r1"), strategy="s", symbol="X",
                             side=Side.BUY, order_type=OrderType.MARKET, quantity=D(1),
                             decision_price=D(100)))
    book._apply(OrderSubmitted(**book._env("r1")))
    book._apply(OrderRejected(**book._env("r1"), reason="no"))
    stats = order_stats(book.journal.events())["s"]
    market, limit, every = stats["market"], stats["limit"], stats[ALL_TYPES]
    assert (market.sent, market.filled, market.rejected, market.working) == (3, 1, 1, 1)
    assert market.fills == 3 and market.filled_quantity == D(15)
    assert market.fill_rate == pytest.approx(1 / 3)
    assert (limit.sent, limit.cancelled, limit.fill_rate) == (1, 1, 0.0)
    assert every.sent == 4 and every.filled == 1
    for t in (market, limit, every):
        assert t.filled + t.rejected + t.cancelled + t.expired + t.working == t.sent
    # notional-weighted at the reference (all three at 100): (4×10 + 6×20 + 5×100) / 15
    assert market.mean_slippage_bps == pytest.approx((4 * 10 + 6 * 20 + 5 * 100) / 15)
    assert limit.mean_slippage_bps is None                    # nothing filled


def test_stats_survive_any_split_of_the_journal_into_processes() -> None:
    book = _Book()
    book.order("a", Side.BUY, OrderType.MARKET, "1", decision="50")
    entries = book.journal.events()
    book.fill("a", "1", "50.5")
    assert order_stats(entries)["s"]["market"].working == 1   # as seen mid-way
    whole = order_stats(book.journal.events())["s"]["market"]
    assert (whole.sent, whole.filled, whole.fills) == (1, 1, 1)
    assert whole.mean_slippage_bps == pytest.approx(100.0)
