"""The order state machine: one transition table, and the pure step ``evolve(order, event)``.

Rules:

* An order's status moves only along ``ORDER_TRANSITIONS``; any other move raises
  ``core.fsm.IllegalTransition``. Terminal statuses (filled, cancelled, rejected, expired) have
  no exits: an event for a terminal order (say a fill reported after the cancel) raises, and
  the caller hands it to reconciliation; it is never dropped silently.
* ``ManagedOrder`` is an immutable snapshot. ``evolve`` returns the next snapshot and never
  mutates; it validates *everything* before the manager journals, so an event that would be
  refused is never written.
* Fill accounting is exact: ``filled_quantity``, ``notional`` (Σ quantity × price) and
  ``commission`` are summed in a decimal context that raises rather than round; a fill may
  never take ``filled_quantity`` above ``quantity``; a ``trade_id`` counts once per order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.errors import OperatorActionRequired, TradingStrategyError
from trading_strategy.kernel.order_states import ORDER_TRANSITIONS, TERMINAL_STATUSES
from trading_strategy.orders.events import (
    OrderAccepted,
    OrderCancelRejected,
    OrderCreated,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    target_status,
)
from trading_strategy.orders.venues.base import OrderRequest

__all__ = [
    "ORDER_TRANSITIONS",
    "TERMINAL_STATUSES",
    "DuplicateOrderId",
    "ManagedOrder",
    "OrderInvariantViolated",
    "UnknownOrder",
    "evolve",
    "is_duplicate",
]


#: sums of money and quantity never round: an inexact result raises ``decimal.Inexact``
_EXACT = Context(prec=96, traps=[Inexact, InvalidOperation, Overflow])
_ZERO = Decimal(0)


class UnknownOrder(TradingStrategyError):
    """An event or lookup for an order id this manager has never created."""


class DuplicateOrderId(TradingStrategyError):
    """A client order id used for a second, different order."""


class OrderInvariantViolated(OperatorActionRequired):
    """A venue report that breaks an order invariant (overfill, non-positive fill quantity,
    a trade id applied twice during replay): a person must look at it."""


@dataclass(frozen=True, slots=True)
class ManagedOrder:
    """One order as the manager knows it: an immutable snapshot, replaced on every event.

    ``notional`` is Σ fill quantity × price (exact); ``avg_price`` derives from it.
    ``ts_last`` is the ``ts_event`` of the last event; ``event_count`` counts the events
    applied (the order's journal entries).
    """

    id: str
    strategy: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    tif: TimeInForce
    reduce_only: bool
    decision_price: Decimal | None
    id_seq: int | None
    ts_created: int
    ts_last: int
    status: OrderStatus = OrderStatus.CREATED
    venue_order_id: str = ""
    filled_quantity: Decimal = _ZERO
    notional: Decimal = _ZERO
    commission: Decimal = _ZERO
    trade_ids: frozenset[str] = frozenset()
    reason: str = ""
    event_count: int = 1
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    size_at_fill: bool = False
    #: all-in only: ``quantity`` caps the venue's size (``False``: it may fill more)
    quantity_is_cap: bool = True
    #: the entry this order is an attached exit of
    parent_id: str | None = None
    #: an all-in order's size as the venue set it at its first fill (``quantity`` stays the
    #: maximum asked, so the request re-sent after a restart is the same)
    sized_quantity: Decimal | None = None

    @property
    def size(self) -> Decimal:
        """The quantity the order fills to: the venue's size for an all-in order."""
        return self.quantity if self.sized_quantity is None else self.sized_quantity

    @property
    def remaining_quantity(self) -> Decimal:
        return self.size - self.filled_quantity

    @property
    def avg_price(self) -> Decimal | None:
        """Volume-weighted fill price (``notional / filled_quantity``), ``None`` before a fill.

        Exact whenever the quotient terminates within 28 significant digits (always for a
        single fill price); otherwise rounded there, while ``notional`` stays exact."""
        if not self.filled_quantity:
            return None
        return self.notional / self.filled_quantity

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def request(self) -> OrderRequest:
        """What is sent to the venue (the same request, same client id, on every re-send)."""
        return OrderRequest(
            client_order_id=self.id, symbol=self.symbol, side=self.side,
            order_type=self.order_type, quantity=self.quantity, limit_price=self.limit_price,
            stop_price=self.stop_price, tif=self.tif, reduce_only=self.reduce_only,
            strategy=self.strategy, size_at_fill=self.size_at_fill,
            quantity_is_cap=self.quantity_is_cap, parent_id=self.parent_id,
        )


def is_duplicate(order: ManagedOrder, event: OrderEvent) -> bool:
    """True for a fill whose ``trade_id`` the order already counted (to be ignored)."""
    return isinstance(event, OrderFilled) and event.trade_id in order.trade_ids


def evolve(order: ManagedOrder | None, event: OrderEvent) -> ManagedOrder:
    """The order after ``event``: a new snapshot; ``order`` is ``None`` only for creation.

    Raises ``IllegalTransition`` for a move outside the table, ``DuplicateOrderId`` for a
    second creation, ``UnknownOrder`` for an event before creation, and
    ``OrderInvariantViolated`` for a fill that is a duplicate, not positive or an overfill.
    """
    if isinstance(event, OrderCreated):
        if order is not None:
            raise DuplicateOrderId(f"order {event.order_id} already exists")
        return _created(event)
    if order is None:
        raise UnknownOrder(f"no order {event.order_id} (event {event.kind})")
    if event.order_id != order.id:
        raise ValueError(f"event for {event.order_id} applied to order {order.id}")
    target = target_status(event, order)
    ORDER_TRANSITIONS.check(order.status, target)
    if isinstance(event, OrderFilled):
        return _filled(order, event, target)
    venue_order_id, reason = order.venue_order_id, order.reason
    if isinstance(event, OrderAccepted):
        venue_order_id = event.venue_order_id or venue_order_id
    elif isinstance(event, OrderRejected | OrderDenied | OrderCancelRejected):
        reason = event.reason
    return dataclasses.replace(
        order, status=target, ts_last=event.ts_event, event_count=order.event_count + 1,
        venue_order_id=venue_order_id, reason=reason,
    )


def _created(event: OrderCreated) -> ManagedOrder:
    if not event.quantity > 0:
        raise ValueError(f"order {event.order_id}: quantity must be > 0, got {event.quantity}")
    return ManagedOrder(
        id=event.order_id, strategy=event.strategy, symbol=event.symbol, side=event.side,
        order_type=event.order_type, quantity=event.quantity, limit_price=event.limit_price,
        stop_price=event.stop_price, tif=event.tif, reduce_only=event.reduce_only,
        decision_price=event.decision_price, id_seq=event.id_seq,
        ts_created=event.ts_event, ts_last=event.ts_event,
        stop_loss=event.stop_loss, take_profit=event.take_profit,
        size_at_fill=event.size_at_fill, quantity_is_cap=event.quantity_is_cap,
        parent_id=event.parent_id,
    )


def _filled(order: ManagedOrder, fill: OrderFilled, target: OrderStatus) -> ManagedOrder:
    where = f"order {order.id} trade {fill.trade_id}"
    if fill.trade_id in order.trade_ids:
        raise OrderInvariantViolated(f"{where}: trade id already applied")
    if not fill.quantity > 0:
        raise OrderInvariantViolated(f"{where}: fill quantity must be > 0, got {fill.quantity}")
    filled = _EXACT.add(order.filled_quantity, fill.quantity)
    quantity = order.size
    if fill.order_quantity is not None:
        # an all-in order the venue sized from its cash: never above a cap (a risk limit);
        # an uncapped one buys what the cash pays at the fill price, which may be more
        if not order.size_at_fill or not fill.order_quantity > 0 or \
                (order.quantity_is_cap and fill.order_quantity > order.quantity):
            raise OrderInvariantViolated(
                f"{where}: venue order quantity {fill.order_quantity} for an order of "
                f"{order.quantity}{'' if order.size_at_fill else ' not sized at its fill'}")
        quantity = fill.order_quantity
    if filled > quantity:
        raise OrderInvariantViolated(
            f"{where}: overfill, {order.filled_quantity} + {fill.quantity} > {quantity}")
    return dataclasses.replace(
        order,
        sized_quantity=order.sized_quantity if fill.order_quantity is None else quantity,
        status=target,
        ts_last=fill.ts_event,
        event_count=order.event_count + 1,
        venue_order_id=order.venue_order_id or fill.venue_order_id,
        filled_quantity=filled,
        notional=_EXACT.add(order.notional, _EXACT.multiply(fill.quantity, fill.price)),
        commission=_EXACT.add(order.commission, fill.commission),
        trade_ids=order.trade_ids | {fill.trade_id},
    )
