"""submit / cancel against a scripted fake of an external venue.

The fake keeps orders by client order id (idempotent, as the venue contract requires) and can
"time out" before or after it has created the order, so the tests can prove a re-sent submit
never creates a second order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from trading_strategy.core.clock import SimulatedClock
from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.orders import (
    InMemoryJournal,
    ManagedOrder,
    OrderCancelRequested,
    OrderManager,
    OrderSubmitted,
    explain,
)
from trading_strategy.orders.venues.base import (
    FillReport,
    OrderAck,
    OrderOutcomeUnknown,
    OrderRequest,
    OrderState,
    StatusReport,
    Venue,
    VenueRejected,
    VenueReport,
    VenueUnavailable,
)
from trading_strategy.risk.verdicts import accepted

S = OrderStatus
T0 = 1_704_205_800_000_000_000
R = TypeVar("R")


def run(coro: Coroutine[Any, Any, R]) -> R:
    return asyncio.run(coro)


class FakeVenue:
    """A test double of an external exchange, honouring the ``Venue`` protocol."""

    name = "fake"

    def __init__(self, *, lose_before: int = 0, lose_after: int = 0,
                 reject: str = "", fetch_fails: bool = False,
                 cancel_answer: OrderStatus = S.CANCELLED, cancel_reject: str = "") -> None:
        self.lose_before, self.lose_after = lose_before, lose_after  # timeouts to simulate
        self.reject, self.fetch_fails = reject, fetch_fails
        self.cancel_answer, self.cancel_reject = cancel_answer, cancel_reject
        self.orders: dict[str, OrderState] = {}
        self.submits: list[str] = []
        self.cancels: list[str] = []

    async def submit(self, request: OrderRequest) -> OrderAck:
        cid = request.client_order_id
        self.submits.append(cid)
        if self.lose_before:
            self.lose_before -= 1
            raise OrderOutcomeUnknown(cid, "timed out before reaching the venue")
        if self.reject:
            raise VenueRejected(cid, self.reject)
        if cid not in self.orders:  # idempotent on the client order id
            self.orders[cid] = OrderState(
                cid, f"V-{len(self.orders) + 1}", request.symbol, request.side,
                request.order_type, request.quantity, Decimal(0), S.ACCEPTED,
                request.limit_price)
        if self.lose_after:
            self.lose_after -= 1
            raise OrderOutcomeUnknown(cid, "timed out waiting for the ack")
        state = self.orders[cid]
        return OrderAck(cid, state.venue_order_id, state.status, "", T0 + 100)

    async def cancel(self, client_order_id: str) -> OrderAck:
        self.cancels.append(client_order_id)
        if self.cancel_reject:
            raise VenueRejected(client_order_id, self.cancel_reject)
        state = self.orders[client_order_id]
        if self.cancel_answer is S.CANCELLED:
            self.orders[client_order_id] = state._replace(status=S.CANCELLED)
        return OrderAck(client_order_id, state.venue_order_id, self.cancel_answer, "",
                        T0 + 200)

    async def fetch_order(self, client_order_id: str) -> OrderState | None:
        if self.fetch_fails:
            raise VenueUnavailable("502 bad gateway")
        return self.orders.get(client_order_id)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderState]:
        return [o for o in self.orders.values() if o.status.is_open]

    async def fetch_fills(self, since_ts: int = 0) -> list[FillReport]:
        return []

    async def fetch_balances(self) -> dict[str, Decimal]:
        return {}

    async def fetch_positions(self) -> dict[str, Decimal]:
        return {}

    def reports(self) -> AsyncIterator[VenueReport]:
        return self._no_reports()

    async def _no_reports(self) -> AsyncIterator[VenueReport]:
        reports: tuple[VenueReport, ...] = ()
        for report in reports:
            yield report

    async def close(self) -> None:
        return None


def setup(**venue_kw: Any) -> tuple[OrderManager, InMemoryJournal, FakeVenue, ManagedOrder]:
    journal = InMemoryJournal()
    m = OrderManager(journal, session_id="s1", clock=SimulatedClock(T0),
                     instruments={"AAPL": Instrument("AAPL")}, max_submit_attempts=3)
    order = m.prepare(OrderIntent("", "sma", "AAPL", Side.BUY, 5, OrderType.LIMIT, 10_000),
                      accepted(5))
    return m, journal, FakeVenue(**venue_kw), order


def kinds(journal: InMemoryJournal) -> list[str]:
    return [e.event.kind for e in journal.events()]


def test_fake_venue_honours_the_protocol() -> None:
    venue: Venue = FakeVenue()
    assert venue.name == "fake"


def test_happy_path() -> None:
    m, journal, venue, order = setup()
    after = run(m.submit(order, venue))
    assert (after.status, after.venue_order_id) == (S.ACCEPTED, "V-1")
    assert venue.submits == [order.id]
    assert kinds(journal) == ["created", "submitted", "accepted"]
    assert run(m.submit(order, venue)) == after and venue.submits == [order.id]  # no-op now


def test_timeout_after_creation_resends_the_same_id_and_makes_one_order() -> None:
    m, journal, venue, order = setup(lose_after=1)
    after = run(m.submit(order, venue))
    assert venue.submits == [order.id, order.id]
    assert len(venue.orders) == 1 and after.status is S.ACCEPTED
    assert kinds(journal) == ["created", "submitted", "accepted"]  # SUBMITTED journaled once
    assert "accepted after 2 attempts (same client id)" in explain(order.id, journal)[-1]


def test_retried_intent_after_a_timeout_reuses_its_id() -> None:
    m, journal, venue, _ = setup(lose_after=3)
    oid = m.next_client_order_id("sma")
    intent = OrderIntent(oid, "sma", "AAPL", Side.BUY, 5, OrderType.LIMIT, 10_000)
    first = m.prepare(intent, accepted(5))
    run(m.submit(first, venue))  # 3 lost acks, then fetch_order: the venue has it
    again = m.prepare(intent, accepted(5))
    run(m.submit(again, venue))
    assert again.id == first.id == oid
    assert venue.submits == [oid] * 3 and len(venue.orders) == 1
    assert [o.id for o in m.orders()].count(oid) == 1
    assert m.get(oid).status is S.ACCEPTED
    assert "3 submit attempts failed; venue reports accepted" in explain(oid, journal)[-1]


def test_never_reached_the_venue_is_rejected_after_n_attempts() -> None:
    m, journal, venue, order = setup(lose_before=5)
    after = run(m.submit(order, venue))
    assert venue.submits == [order.id] * 3 and not venue.orders
    assert (after.status, after.reason) == (S.REJECTED, "not at venue")
    assert explain(order.id, journal)[-1].endswith(
        "reason=not at venue  cause=3 submit attempts failed; venue has no record of it  "
        "actor=order-manager")


def test_unresolvable_outcome_stays_submitted_and_a_later_submit_resends() -> None:
    m, journal, venue, order = setup(lose_after=5, fetch_fails=True)
    with pytest.raises(OrderOutcomeUnknown):
        run(m.submit(order, venue))
    assert m.get(order.id).status is S.SUBMITTED and len(venue.orders) == 1
    venue.lose_after, venue.fetch_fails = 0, False
    assert run(m.submit(order.id, venue)).status is S.ACCEPTED
    assert len(venue.orders) == 1 and kinds(journal).count("submitted") == 1


def test_crash_between_send_and_ack_resends_after_rebuild() -> None:
    m, journal, venue, order = setup()
    m.apply(OrderSubmitted(order_id=order.id, ts_event=T0, ts_init=T0, cause="sent",
                           actor="order-manager"))
    run(venue.submit(m.get(order.id).request))  # reached the venue; then the process died
    restarted = OrderManager(journal, session_id="s1", clock=SimulatedClock(T0 + 10),
                             instruments={"AAPL": Instrument("AAPL")})
    assert restarted.get(order.id).status is S.SUBMITTED
    assert run(restarted.submit(order.id, venue)).status is S.ACCEPTED
    assert venue.submits == [order.id, order.id] and len(venue.orders) == 1


def test_venue_rejection() -> None:
    m, _, venue, order = setup(reject="insufficient funds")
    after = run(m.submit(order, venue))
    assert (after.status, after.reason) == (S.REJECTED, "insufficient funds")


def test_cancel_paths() -> None:
    m, journal, venue, order = setup()
    run(m.submit(order, venue))
    after = run(m.cancel(order, venue, cause="operator asked", actor="operator:alice"))
    assert after.status is S.CANCELLED and venue.cancels == [order.id]
    assert kinds(journal)[-2:] == ["cancel_requested", "cancelled"]
    assert "cause=operator asked  actor=operator:alice" in explain(order.id, journal)[-2]
    assert run(m.cancel(order, venue, cause="again", actor="risk")) == after  # terminal: no-op
    assert venue.cancels == [order.id]


def test_cancel_before_sending_never_reaches_the_venue() -> None:
    m, _, venue, order = setup()
    after = run(m.cancel(order, venue, cause="strategy halted", actor="risk"))
    assert after.status is S.CANCELLED and venue.cancels == []


def test_refused_cancel_and_a_fill_racing_the_cancel() -> None:
    m, _, venue, order = setup(cancel_reject="too late to cancel")
    run(m.submit(order, venue))
    after = run(m.cancel(order, venue, cause="flatten", actor="risk"))
    assert (after.status, after.reason) == (S.ACCEPTED, "too late to cancel")

    m, _, venue, order = setup(cancel_answer=S.PENDING_CANCEL)
    run(m.submit(order, venue))
    assert run(m.cancel(order, venue, cause="flatten", actor="risk")).status is S.PENDING_CANCEL
    fill = FillReport(order.id, "V-1", "T1", "AAPL", Side.BUY, Decimal(5), Decimal("100"),
                      Decimal(0), T0 + 300)
    m.on_report(fill, venue="fake")
    assert m.get(order.id).status is S.FILLED
    # the venue's late "cancelled" for a filled order is a contradiction: refused loudly
    late = StatusReport(order.id, "V-1", S.CANCELLED, "", T0 + 400)
    with pytest.raises(Exception, match="illegal transition filled -> cancelled"):
        m.on_report(late, venue="fake")


def test_cancel_timeout_leaves_pending_cancel_and_can_be_resent() -> None:
    m, journal, venue, order = setup()
    run(m.submit(order, venue))

    async def timeout(client_order_id: str) -> OrderAck:
        raise VenueUnavailable("timeout")

    original = venue.cancel
    venue.cancel = timeout  # type: ignore[method-assign]
    with pytest.raises(VenueUnavailable):
        run(m.cancel(order, venue, cause="flatten", actor="risk"))
    assert m.get(order.id).status is S.PENDING_CANCEL
    venue.cancel = original  # type: ignore[method-assign]
    assert run(m.cancel(order, venue, cause="flatten", actor="risk")).status is S.CANCELLED
    assert [type(e.event) for e in journal.events()].count(OrderCancelRequested) == 1
