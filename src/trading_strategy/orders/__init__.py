"""Orders: the state machine, the manager, the audit journal, and venues (``orders.venues``).

Public surface::

    OrderManager            prepare / submit / cancel / apply / on_report / get / open_orders
    ManagedOrder            an immutable snapshot of one order
    ORDER_TRANSITIONS       the one transition table (``kernel.order_states``)
    Order* events           immutable; ``target_status`` names where each one leads
    Journal, InMemoryJournal, JournalEntry, encode, decode, explain
"""

from trading_strategy.orders.events import (
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderCreated,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    from_cancel_ack,
    from_fill,
    from_status,
    target_status,
)
from trading_strategy.orders.journal import (
    CODEC_VERSION,
    CorruptJournal,
    InMemoryJournal,
    Journal,
    JournalEntry,
    decode,
    encode,
    explain,
)
from trading_strategy.orders.manager import OrderManager, make_client_order_id, replay
from trading_strategy.orders.state import (
    ORDER_TRANSITIONS,
    TERMINAL_STATUSES,
    DuplicateOrderId,
    ManagedOrder,
    OrderInvariantViolated,
    UnknownOrder,
    evolve,
)

__all__ = [
    "CODEC_VERSION",
    "ORDER_TRANSITIONS",
    "TERMINAL_STATUSES",
    "CorruptJournal",
    "DuplicateOrderId",
    "InMemoryJournal",
    "Journal",
    "JournalEntry",
    "ManagedOrder",
    "OrderAccepted",
    "OrderCancelRejected",
    "OrderCancelRequested",
    "OrderCancelled",
    "OrderCreated",
    "OrderDenied",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderInvariantViolated",
    "OrderManager",
    "OrderRejected",
    "OrderSubmitted",
    "UnknownOrder",
    "decode",
    "encode",
    "evolve",
    "explain",
    "from_cancel_ack",
    "from_fill",
    "from_status",
    "make_client_order_id",
    "replay",
    "target_status",
]
