"""The transition table edge by edge, fill accounting, and the venue-report translators.

Every (from, to) pair of statuses is tried with the event that leads to ``to``: the table's
edges must pass and every other pair must raise ``IllegalTransition``.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.fsm import IllegalTransition
from trading_strategy.orders import (
    ORDER_TRANSITIONS,
    TERMINAL_STATUSES,
    DuplicateOrderId,
    ManagedOrder,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderCreated,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderInvariantViolated,
    OrderRejected,
    OrderSubmitted,
    UnknownOrder,
    evolve,
    from_cancel_ack,
    from_fill,
    from_status,
    target_status,
)
from trading_strategy.orders.venues.base import FillReport, OrderAck, StatusReport

S = OrderStatus
OID = "sma-s1-00000001"
ENV: dict[str, Any] = {
    "order_id": OID, "ts_event": 2_000, "ts_init": 2_001, "cause": "test", "actor": "test"}


def created(quantity: str = "10") -> ManagedOrder:
    return evolve(None, OrderCreated(
        order_id=OID, ts_event=1_000, ts_init=1_001, cause="risk accepted",
        actor="strategy:sma", strategy="sma", symbol="AAPL", side=Side.BUY,
        order_type=OrderType.LIMIT, quantity=Decimal(quantity), limit_price=Decimal("100.25"),
        tif=TimeInForce.GTC, decision_price=Decimal("100.20"), id_seq=1,
    ))


def fill(trade_id: str, quantity: str, price: str, commission: str = "0") -> OrderFilled:
    return OrderFilled(**ENV, trade_id=trade_id, quantity=Decimal(quantity),
                       price=Decimal(price), commission=Decimal(commission))


def at(status: OrderStatus, filled: str = "0") -> ManagedOrder:
    """An order in ``status`` (with ``filled`` already filled, at 100.00)."""
    q = Decimal(filled)
    ids = frozenset({"T-prior"}) if q else frozenset()
    return dataclasses.replace(created(), status=status, filled_quantity=q,
                               notional=q * 100, trade_ids=ids)


def leading_to(target: OrderStatus, order: ManagedOrder) -> OrderEvent:
    """The event that moves ``order`` to ``target``."""
    if target is S.PARTIALLY_FILLED:
        if order.status is S.PENDING_CANCEL and order.filled_quantity:
            return OrderCancelRejected(**ENV, reason="too late")
        return fill("T-next", "1", "100.00")
    if target is S.FILLED:
        return fill("T-next", str(order.remaining_quantity), "100.00")
    if target is S.ACCEPTED and order.status is S.PENDING_CANCEL:
        return OrderCancelRejected(**ENV, reason="too late")
    simple: dict[OrderStatus, OrderEvent] = {
        S.SUBMITTED: OrderSubmitted(**ENV),
        S.ACCEPTED: OrderAccepted(**ENV, venue_order_id="V-1"),
        S.REJECTED: OrderRejected(**ENV, reason="no funds"),
        S.DENIED: OrderDenied(**ENV, reason="max_position: above the limit"),
        S.PENDING_CANCEL: OrderCancelRequested(**ENV),
        S.CANCELLED: OrderCancelled(**ENV),
        S.EXPIRED: OrderExpired(**ENV),
    }
    return simple[target]


def _partial_for(status: OrderStatus, target: OrderStatus) -> str:
    # an order in partially_filled has filled something; a pending cancel going back to
    # partially_filled via a refused cancel has too
    if status is S.PARTIALLY_FILLED:
        return "4"
    if status is S.PENDING_CANCEL and target is S.PARTIALLY_FILLED:
        return "4"
    return "0"


PAIRS = [(a, b) for a in OrderStatus for b in OrderStatus if b is not S.CREATED]
LEGAL = [(a, b) for a, b in PAIRS if ORDER_TRANSITIONS.allowed(a, b)]
ILLEGAL = [(a, b) for a, b in PAIRS if not ORDER_TRANSITIONS.allowed(a, b)]


@pytest.mark.parametrize(("start", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_every_legal_edge_applies(start: OrderStatus, target: OrderStatus) -> None:
    order = at(start, _partial_for(start, target))
    event = leading_to(target, order)
    assert target_status(event, order) is target
    after = evolve(order, event)
    assert after.status is target
    assert after.event_count == order.event_count + 1
    assert order.status is start  # snapshots are never mutated


@pytest.mark.parametrize(("start", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_other_pair_raises(start: OrderStatus, target: OrderStatus) -> None:
    order = at(start, _partial_for(start, target))
    event = leading_to(target, order)
    with pytest.raises(IllegalTransition):
        evolve(order, event)


def test_table_shape() -> None:
    assert {S.FILLED, S.CANCELLED, S.REJECTED, S.DENIED, S.EXPIRED} == TERMINAL_STATUSES
    for status in TERMINAL_STATUSES:
        assert not ORDER_TRANSITIONS.targets(status)
    # everything is reachable from created, and every status can still end
    reachable, frontier = {S.CREATED}, [S.CREATED]
    while frontier:
        for nxt in ORDER_TRANSITIONS.targets(frontier.pop()) - reachable:
            reachable.add(nxt)
            frontier.append(nxt)
    assert reachable == set(OrderStatus)
    for status in set(OrderStatus) - TERMINAL_STATUSES:
        assert ORDER_TRANSITIONS.targets(status) & TERMINAL_STATUSES
    # the unusual edges the venue world forces on us
    for edge in [(S.SUBMITTED, S.FILLED), (S.PENDING_CANCEL, S.FILLED),
                 (S.PENDING_CANCEL, S.PARTIALLY_FILLED), (S.ACCEPTED, S.REJECTED),
                 (S.CREATED, S.CANCELLED), (S.PENDING_CANCEL, S.ACCEPTED)]:
        assert ORDER_TRANSITIONS.allowed(*edge), edge
    assert not ORDER_TRANSITIONS.allowed(S.CREATED, S.FILLED)  # never sent: cannot fill


def test_creation_and_unknown_orders() -> None:
    order = created()
    assert (order.status, order.quantity) == (S.CREATED, Decimal(10))
    assert order.filled_quantity == 0
    assert order.avg_price is None and order.is_open and order.event_count == 1
    with pytest.raises(DuplicateOrderId):
        evolve(order, OrderCreated(**ENV, strategy="sma", symbol="AAPL", side=Side.BUY,
                                   order_type=OrderType.MARKET, quantity=Decimal(1)))
    with pytest.raises(UnknownOrder):
        evolve(None, OrderSubmitted(**ENV))
    with pytest.raises(ValueError, match="quantity"):
        created("0")


def test_partial_fills_average_price_is_exact() -> None:
    # 3 @ 100.10 + 2 @ 100.25 + 5 @ 100.04 = 300.30 + 200.50 + 500.20 = 1001.00 over 10
    order = at(S.ACCEPTED)
    order = evolve(order, fill("T1", "3", "100.10", "0.03"))
    assert order.status is S.PARTIALLY_FILLED and order.avg_price == Decimal("100.10")
    order = evolve(order, fill("T2", "2", "100.25", "0.02"))
    # (300.30 + 200.50) / 5 = 100.16
    assert order.avg_price == Decimal("100.16") and order.remaining_quantity == 5
    order = evolve(order, fill("T3", "5", "100.04", "-0.01"))
    assert order.status is S.FILLED
    assert order.filled_quantity == Decimal("10") and order.notional == Decimal("1001.00")
    assert order.avg_price == Decimal("100.1")
    assert order.commission == Decimal("0.04")
    assert order.trade_ids == {"T1", "T2", "T3"}


def test_fractional_fills_keep_notional_exact() -> None:
    order = at(S.ACCEPTED)
    order = evolve(order, fill("A", "0.001", "42000.5"))
    order = evolve(order, fill("B", "0.002", "42001"))
    assert order.filled_quantity == Decimal("0.003")
    assert order.notional == Decimal("42.0005") + Decimal("84.002")  # 126.0025
    assert order.avg_price == Decimal("126.0025") / Decimal("0.003")


def test_fill_invariants() -> None:
    order = evolve(at(S.ACCEPTED), fill("T1", "6", "100"))
    with pytest.raises(OrderInvariantViolated, match="overfill"):
        evolve(order, fill("T2", "5", "100"))
    with pytest.raises(OrderInvariantViolated, match="already applied"):
        evolve(order, fill("T1", "1", "100"))
    with pytest.raises(OrderInvariantViolated, match="> 0"):
        evolve(order, fill("T3", "0", "100"))
    with pytest.raises(IllegalTransition):  # created: never sent, cannot fill
        evolve(created(), fill("T1", "1", "100"))


def test_fill_after_missed_ack_records_venue_order_id() -> None:
    order = at(S.SUBMITTED)
    event = dataclasses.replace(fill("T1", "10", "100"), venue_order_id="V-9")
    after = evolve(order, event)
    assert (after.status, after.venue_order_id) == (S.FILLED, "V-9")


def test_events_are_immutable_and_compared_by_kind() -> None:
    event = OrderSubmitted(**ENV)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.cause = "changed"  # type: ignore[misc]
    other: object = OrderCancelRequested(**ENV)
    assert event != other
    assert event == OrderSubmitted(**ENV)


def test_cancel_rejected_returns_to_working_status() -> None:
    refused = OrderCancelRejected(**ENV, reason="too late")
    assert evolve(at(S.PENDING_CANCEL), refused).status is S.ACCEPTED
    back = evolve(at(S.PENDING_CANCEL, "4"), refused)
    assert (back.status, back.reason) == (S.PARTIALLY_FILLED, "too late")


# --- translators ------------------------------------------------------------------------------


def report(status: OrderStatus, reason: str = "") -> StatusReport:
    return StatusReport(OID, "V-1", status, reason, 5_000)


def test_from_fill_ignores_known_trade_ids() -> None:
    fr = FillReport(OID, "V-1", "T1", "AAPL", Side.BUY, Decimal(2), Decimal("100.5"),
                    Decimal("0.01"), 5_000, "maker")
    event = from_fill(at(S.ACCEPTED), fr, ts_init=6_000, actor="venue:x")
    assert event == OrderFilled(
        order_id=OID, ts_event=5_000, ts_init=6_000, cause="venue fill", actor="venue:x",
        trade_id="T1", quantity=Decimal(2), price=Decimal("100.5"),
        commission=Decimal("0.01"), liquidity="maker", venue_order_id="V-1")
    assert from_fill(evolve(at(S.ACCEPTED), event), fr, ts_init=7, actor="venue:x") is None


def test_from_status_translates_only_news() -> None:
    kw: dict[str, Any] = {"ts_init": 6_000, "actor": "venue:x"}
    accepted = from_status(at(S.SUBMITTED), report(S.ACCEPTED), **kw)
    assert isinstance(accepted, OrderAccepted) and accepted.venue_order_id == "V-1"
    # an ack that arrives after a fill (or a second ack) is old news
    assert from_status(at(S.PARTIALLY_FILLED, "4"), report(S.ACCEPTED), **kw) is None
    assert from_status(at(S.ACCEPTED), report(S.FILLED), **kw) is None
    assert from_status(at(S.CANCELLED), report(S.CANCELLED), **kw) is None
    assert from_status(at(S.SUBMITTED), report(S.SUBMITTED), **kw) is None
    rejected = from_status(at(S.SUBMITTED), report(S.REJECTED, "no funds"), **kw)
    assert isinstance(rejected, OrderRejected) and rejected.reason == "no funds"
    expired = from_status(at(S.ACCEPTED), report(S.EXPIRED, "DAY"), **kw)
    assert isinstance(expired, OrderExpired) and expired.cause == "venue expired: DAY"
    assert isinstance(from_status(at(S.ACCEPTED), report(S.CANCELLED), **kw), OrderCancelled)
    # a contradiction is returned, for apply to refuse loudly
    assert isinstance(from_status(at(S.FILLED), report(S.CANCELLED), **kw), OrderCancelled)


def test_from_cancel_ack() -> None:
    def ack(status: OrderStatus, reason: str = "") -> OrderAck:
        return OrderAck(OID, "V-1", status, reason, 5_000)

    kw: dict[str, Any] = {"ts_init": 6_000, "actor": "venue:x"}
    pending = at(S.PENDING_CANCEL)
    assert isinstance(from_cancel_ack(pending, ack(S.CANCELLED), **kw), OrderCancelled)
    refused = from_cancel_ack(pending, ack(S.REJECTED, "unknown order"), **kw)
    assert isinstance(refused, OrderCancelRejected) and refused.reason == "unknown order"
    assert from_cancel_ack(at(S.FILLED), ack(S.REJECTED, "filled"), **kw) is None
    assert from_cancel_ack(pending, ack(S.PENDING_CANCEL), **kw) is None
    assert from_cancel_ack(pending, ack(S.FILLED), **kw) is None


def test_an_all_in_order_fills_to_the_size_the_venue_gave_it() -> None:
    order = dataclasses.replace(created("100"), status=S.ACCEPTED, size_at_fill=True)
    first = dataclasses.replace(fill("T-1", "30", "100.00"), order_quantity=Decimal("80"))
    after = evolve(order, first)
    assert (after.status, after.size, after.quantity) == (S.PARTIALLY_FILLED, 80, 100)
    assert after.remaining_quantity == 50
    done = evolve(after, fill("T-2", "50", "100.00"))
    assert done.status is S.FILLED and done.request == order.request  # same request re-sent
    with pytest.raises(OrderInvariantViolated, match="overfill"):
        evolve(after, fill("T-3", "51", "100.00"))


@pytest.mark.parametrize(("size_at_fill", "venue_size"), [(False, "80"), (True, "101"),
                                                          (True, "0")])
def test_a_venue_size_is_only_for_all_in_orders_and_never_above_the_ask(
        size_at_fill: bool, venue_size: str) -> None:
    order = dataclasses.replace(created("100"), status=S.ACCEPTED, size_at_fill=size_at_fill)
    event = dataclasses.replace(fill("T-1", "1", "100.00"), order_quantity=Decimal(venue_size))
    with pytest.raises(OrderInvariantViolated, match="venue order quantity"):
        evolve(order, event)


def test_an_uncapped_all_in_order_takes_what_the_cash_pays_at_the_fill() -> None:
    """Sized at the decision price with no risk limit: the venue may size it above the
    quantity asked (the price fell), never to zero; a cap stays a cap."""
    order = dataclasses.replace(created("100"), status=S.ACCEPTED, size_at_fill=True,
                                quantity_is_cap=False)
    more = dataclasses.replace(fill("T-1", "104", "100.00"), order_quantity=Decimal("104"))
    after = evolve(order, more)
    assert (after.status, after.size, after.filled_quantity) == (S.FILLED, 104, 104)
    assert after.request.quantity_is_cap is False  # a re-send is the same request
    with pytest.raises(OrderInvariantViolated, match="venue order quantity"):
        evolve(order, dataclasses.replace(more, order_quantity=Decimal(0)))
    capped = dataclasses.replace(order, quantity_is_cap=True)
    with pytest.raises(OrderInvariantViolated, match="venue order quantity"):
        evolve(capped, more)
