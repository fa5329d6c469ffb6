"""The order life: the one transition table every driver moves orders along.

The backtest engine, the live strategy context and the order manager all change an order's
status through ``ORDER_TRANSITIONS`` (``move`` for the kernel's mutable ``Order``; the order
manager's immutable snapshots check the same table in ``orders.state.evolve``). An edge not
in the table raises ``IllegalTransition``: a status never jumps (a live order goes
CREATED → SUBMITTED → ACCEPTED → FILLED, never CREATED → FILLED).
"""

from __future__ import annotations

from trading_strategy.core.enums import OrderStatus
from trading_strategy.core.fsm import IllegalTransition, TransitionTable
from trading_strategy.core.orders import Order

__all__ = ["ORDER_TRANSITIONS", "TERMINAL_STATUSES", "accept", "move"]

_S = OrderStatus

ORDER_TRANSITIONS: TransitionTable[OrderStatus] = TransitionTable(
    {
        _S.CREATED: {
            _S.SUBMITTED,
            # withdrawn before it was ever sent (halt, operator): no venue involved
            _S.CANCELLED,
            # the pre-trade gate said no: the order never leaves the kernel
            _S.DENIED,
        },
        _S.SUBMITTED: {
            _S.ACCEPTED,
            _S.REJECTED,
            # a fill arrived before the ack (reports and acks travel separately)
            _S.PARTIALLY_FILLED,
            # an immediate fill whose ack we missed (marketable order, lost ack)
            _S.FILLED,
            # we asked to cancel before the venue acknowledged the order
            _S.PENDING_CANCEL,
            # IOC / post-only cancelled by the venue at once, before any ack reached us
            _S.CANCELLED,
            # IOC / FOK with nothing to match: expired at once
            _S.EXPIRED,
        },
        _S.ACCEPTED: {
            _S.PARTIALLY_FILLED,
            _S.FILLED,
            _S.PENDING_CANCEL,
            # unsolicited: the venue (or someone on its web page) cancelled it
            _S.CANCELLED,
            _S.EXPIRED,
            # a venue that rejects after accepting (post-acceptance margin or risk check)
            _S.REJECTED,
        },
        _S.PARTIALLY_FILLED: {
            # another partial fill
            _S.PARTIALLY_FILLED,
            _S.FILLED,
            _S.PENDING_CANCEL,
            # the unfilled remainder cancelled by the venue (IOC remainder, venue action)
            _S.CANCELLED,
            # the unfilled remainder expired (DAY close)
            _S.EXPIRED,
        },
        _S.PENDING_CANCEL: {
            _S.CANCELLED,
            # a fill raced the cancel: the cancel may still land on the remainder
            _S.PARTIALLY_FILLED,
            # a fill raced the cancel and completed the order
            _S.FILLED,
            # the time in force ran out before the cancel landed
            _S.EXPIRED,
            # the venue refused the cancel and nothing was filled (OrderCancelRejected)
            _S.ACCEPTED,
            # the cancel was asked before the ack, and the venue then rejected the order
            _S.REJECTED,
        },
        _S.FILLED: set(),
        _S.CANCELLED: set(),
        _S.REJECTED: set(),
        _S.DENIED: set(),
        _S.EXPIRED: set(),
    }
)

TERMINAL_STATUSES = frozenset(s for s in OrderStatus if not ORDER_TRANSITIONS.targets(s))


#: the table as plain sets: ``move`` runs once per order event on the backtest's hot path
_TARGETS = {status: ORDER_TRANSITIONS.targets(status) for status in OrderStatus}
if not (ORDER_TRANSITIONS.allowed(_S.CREATED, _S.SUBMITTED)
        and ORDER_TRANSITIONS.allowed(_S.SUBMITTED, _S.ACCEPTED)):
    raise RuntimeError("accept() needs CREATED -> SUBMITTED -> ACCEPTED in the table")


_CREATED = _S.CREATED
_ACCEPTED = _S.ACCEPTED


def move(order: Order, status: OrderStatus, reason: str | None = None) -> None:
    """Set ``order.status`` along the table (``IllegalTransition`` otherwise); a partial
    fill may follow a partial fill (the table's self-edge)."""
    if status not in _TARGETS[order.status]:
        raise IllegalTransition(f"order {order.id}: illegal transition {order.status!s} -> "
                                f"{status!s}")
    order.status = status
    if reason is not None:
        order.reason = reason


def accept(order: Order) -> None:
    """A simulated venue takes a new order at once: CREATED → SUBMITTED → ACCEPTED (both
    edges are checked against the table at import)."""
    if order.status is not _CREATED:
        raise IllegalTransition(f"order {order.id}: illegal transition {order.status!s} -> "
                                f"{_S.SUBMITTED!s}")
    order.status = _ACCEPTED
