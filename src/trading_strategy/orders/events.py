"""Order events: the only way an order changes (see ``OrderManager.apply``).

Every event is an immutable, slotted, keyword-only dataclass (cheap to build, compared by kind
*and* fields) carrying the common envelope:

* ``order_id`` — the client order id (our idempotency key at the venue);
* ``ts_event`` — UTC nanoseconds when it happened (at the venue for venue events, at the
  decision or send for our own);
* ``ts_init`` — UTC nanoseconds when we saw it (the clock of the process that built it);
* ``cause`` — why, in words a person reads in the audit trail;
* ``actor`` — who: ``"strategy:<name>"``, ``"venue:<name>"``, ``"risk"``, ``"operator:<who>"``,
  ``"reconciler"``, ``"order-manager"``.

Prices, quantities and commissions are exact ``Decimal`` at the instrument's precision.

``target_status(event, order)`` names the status an event moves an order to; whether that move
is legal is the transition table's business (``orders.state``).

The ``from_*`` helpers translate venue answers (``OrderAck``, ``FillReport``, ``StatusReport``)
into events. They are pure and tolerant: a report that the order already reflects (a duplicate
trade id, a second "cancelled", an "accepted" that arrives after the first fill) gives ``None``.
Anything else is returned as an event, and ``apply`` decides whether it is legal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, Protocol, assert_never

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce

if TYPE_CHECKING:
    from trading_strategy.orders.venues.base import FillReport, OrderAck, StatusReport


class ManagedOrder(Protocol):
    """What the event helpers read of an order (``orders.state.ManagedOrder`` has it; a
    protocol here, so events do not import the state module that imports them)."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> OrderStatus: ...

    @property
    def size(self) -> Decimal: ...

    @property
    def filled_quantity(self) -> Decimal: ...

    @property
    def trade_ids(self) -> frozenset[str]: ...

__all__ = [
    "OrderAccepted",
    "OrderCancelRejected",
    "OrderCancelRequested",
    "OrderCancelled",
    "OrderCreated",
    "OrderDenied",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderRejected",
    "OrderSubmitted",
    "from_cancel_ack",
    "from_fill",
    "from_status",
    "target_status",
]

_S = OrderStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class _Envelope:
    """Fields every order event carries (not used on its own)."""

    kind: ClassVar[str] = ""
    order_id: str
    ts_event: int
    ts_init: int
    cause: str
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCreated(_Envelope):
    """The order exists locally (risk accepted the intent); nothing has been sent yet.

    ``id_seq`` is the sequence number inside a manager-minted client order id
    (``<strategy>-<session>-<seq>``), ``None`` for ids minted elsewhere; the manager recovers
    its id sequence from it after a restart. ``decision_price`` is the price the strategy
    decided on (slippage attribution). ``stop_loss``/``take_profit`` are the exits the
    strategy asked to attach once the order fills (kept here so they survive a restart);
    ``size_at_fill`` marks an all-in order (``quantity`` is its maximum).
    """

    kind: ClassVar[str] = "created"
    strategy: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    decision_price: Decimal | None = None
    id_seq: int | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    #: all-in: ``quantity`` is the most; the venue sizes the buy from the cash at the fill
    size_at_fill: bool = False
    #: all-in only: ``False`` when ``quantity`` is the size at the decision price, not a cap
    #: (the venue may fill more, what the cash pays at the fill price)
    quantity_is_cap: bool = True
    #: the entry this order is an attached exit of (the venue places it with no latency)
    parent_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitted(_Envelope):
    """Journaled *before* the request leaves for the venue (so a crash in between is safe)."""

    kind: ClassVar[str] = "submitted"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(_Envelope):
    """The venue holds the order, under ``venue_order_id``."""

    kind: ClassVar[str] = "accepted"
    venue_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(_Envelope):
    """The venue refused the order (or never got it: see ``OrderManager.submit``)."""

    kind: ClassVar[str] = "rejected"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDenied(_Envelope):
    """The pre-trade risk gate refused the order: it never reached a venue (CREATED→DENIED).

    ``reason`` is ``"<code>: <message>"`` (the gate's code first, so reports can count by it).
    """

    kind: ClassVar[str] = "denied"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(_Envelope):
    """One execution. ``trade_id`` is unique per order: a second fill with it is a duplicate.

    ``commission`` is signed (a maker rebate is negative); ``liquidity`` is ``"maker"`` or
    ``"taker"``; ``venue_order_id`` may be the first we learn of it (the ack was missed).
    """

    kind: ClassVar[str] = "filled"
    trade_id: str
    quantity: Decimal
    price: Decimal
    commission: Decimal = Decimal(0)
    liquidity: str = "taker"
    venue_order_id: str = ""
    #: the order's quantity as the venue sized it (all-in orders), ``None``: unchanged
    order_quantity: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelRequested(_Envelope):
    """We asked the venue to cancel; journaled before the request leaves."""

    kind: ClassVar[str] = "cancel_requested"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelRejected(_Envelope):
    """The venue refused our cancel: the order works on (back to accepted/partially filled)."""

    kind: ClassVar[str] = "cancel_rejected"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(_Envelope):
    """No longer working: cancelled at the venue, or withdrawn before it was ever sent."""

    kind: ClassVar[str] = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired(_Envelope):
    """Its time in force ran out (DAY close, IOC with nothing to match)."""

    kind: ClassVar[str] = "expired"


OrderEvent = (
    OrderCreated
    | OrderSubmitted
    | OrderAccepted
    | OrderRejected
    | OrderDenied
    | OrderFilled
    | OrderCancelRequested
    | OrderCancelRejected
    | OrderCancelled
    | OrderExpired
)

#: every event class by its stable ``kind`` string (the codec's discriminator)
EVENT_TYPES: dict[str, type[OrderEvent]] = {
    cls.kind: cls
    for cls in (
        OrderCreated,
        OrderSubmitted,
        OrderAccepted,
        OrderRejected,
        OrderDenied,
        OrderFilled,
        OrderCancelRequested,
        OrderCancelRejected,
        OrderCancelled,
        OrderExpired,
    )
}


def target_status(event: OrderEvent, order: ManagedOrder | None) -> OrderStatus:
    """The status ``event`` moves ``order`` to (``order`` is ``None`` only for creation).

    A fill moves to FILLED when it completes the quantity (the venue's ``order_quantity`` for
    an all-in order it sized), else PARTIALLY_FILLED; a rejected
    cancel returns the order to PARTIALLY_FILLED if anything was filled, else ACCEPTED.
    """
    if isinstance(event, OrderCreated):
        return _S.CREATED
    if isinstance(event, OrderSubmitted):
        return _S.SUBMITTED
    if isinstance(event, OrderAccepted):
        return _S.ACCEPTED
    if isinstance(event, OrderRejected):
        return _S.REJECTED
    if isinstance(event, OrderDenied):
        return _S.DENIED
    if isinstance(event, OrderCancelRequested):
        return _S.PENDING_CANCEL
    if isinstance(event, OrderCancelled):
        return _S.CANCELLED
    if isinstance(event, OrderExpired):
        return _S.EXPIRED
    if order is None:
        raise ValueError(f"{event.kind} event needs the order it applies to")
    if isinstance(event, OrderFilled):
        size = order.size if event.order_quantity is None else event.order_quantity
        done = order.filled_quantity + event.quantity >= size
        return _S.FILLED if done else _S.PARTIALLY_FILLED
    if isinstance(event, OrderCancelRejected):
        return _S.PARTIALLY_FILLED if order.filled_quantity > 0 else _S.ACCEPTED
    assert_never(event)


# --- venue reports → events --------------------------------------------------------------


def from_fill(
    order: ManagedOrder, fill: FillReport, *, ts_init: int, actor: str, cause: str = "venue fill"
) -> OrderFilled | None:
    """The fill as an event, or ``None`` when its ``trade_id`` was already applied."""
    if fill.trade_id in order.trade_ids:
        return None
    return OrderFilled(
        order_id=order.id, ts_event=fill.ts_event, ts_init=ts_init, cause=cause, actor=actor,
        trade_id=fill.trade_id, quantity=fill.quantity, price=fill.price,
        commission=fill.commission, liquidity=fill.liquidity,
        venue_order_id=fill.venue_order_id, order_quantity=fill.order_quantity,
    )


def from_status(
    order: ManagedOrder,
    report: OrderAck | StatusReport,
    *,
    ts_init: int,
    actor: str,
    cause: str | None = None,
) -> OrderEvent | None:
    """A submit acknowledgement or unsolicited status report as an event.

    * accepted / partially filled / filled: ``OrderAccepted`` while we are still waiting for
      the ack (SUBMITTED); otherwise ``None`` (the fills themselves come as ``FillReport``).
    * rejected / cancelled / expired: the matching event, unless the order already has that
      status (a duplicate report).
    * submitted, pending cancel, created: ``None`` (nothing new).
    """
    status, oid, ts = report.status, order.id, report.ts_event
    if status in (_S.ACCEPTED, _S.PARTIALLY_FILLED, _S.FILLED):
        if order.status is not _S.SUBMITTED:
            return None
        return OrderAccepted(order_id=oid, ts_event=ts, ts_init=ts_init, actor=actor,
                             cause=cause or "venue accepted the order",
                             venue_order_id=report.venue_order_id)
    if status is order.status:
        return None
    if status is _S.REJECTED:
        return OrderRejected(order_id=oid, ts_event=ts, ts_init=ts_init, actor=actor,
                             cause=cause or "venue rejected the order", reason=report.reason)
    if status is _S.CANCELLED:
        return OrderCancelled(order_id=oid, ts_event=ts, ts_init=ts_init, actor=actor,
                              cause=cause or _with_reason("venue cancelled", report))
    if status is _S.EXPIRED:
        return OrderExpired(order_id=oid, ts_event=ts, ts_init=ts_init, actor=actor,
                            cause=cause or _with_reason("venue expired", report))
    return None


def from_cancel_ack(
    order: ManagedOrder, ack: OrderAck, *, ts_init: int, actor: str
) -> OrderEvent | None:
    """The venue's answer to our cancel as an event.

    cancelled / expired → that event (unless already so); rejected → ``OrderCancelRejected``
    while the cancel is pending; anything else (pending, still working, filled) → ``None``:
    the outcome arrives later as a status or fill report.
    """
    if ack.status is _S.REJECTED:
        if order.status is not _S.PENDING_CANCEL:
            return None
        return OrderCancelRejected(order_id=order.id, ts_event=ack.ts_event, ts_init=ts_init,
                                   actor=actor, cause="venue refused the cancel",
                                   reason=ack.reason)
    if ack.status in (_S.CANCELLED, _S.EXPIRED):
        return from_status(order, ack, ts_init=ts_init, actor=actor)
    return None


def _with_reason(text: str, report: OrderAck | StatusReport) -> str:
    return f"{text}: {report.reason}" if report.reason else f"{text} the order"
