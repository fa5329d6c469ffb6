"""The venue contract every adapter implements (paper, ccxt exchanges, test doubles).

Requests and reports are immutable and carry exact ``Decimal`` prices and quantities, already
rounded to the instrument's tick and lot size by the order manager. ``client_order_id`` is the
idempotency key: a venue that receives the same id twice must not create a second order (it
answers with the existing order's state), so a submit re-sent after a timeout is safe.

Errors are translated at the adapter edge into this tree (all from ``core.errors``)::

    RetryableError
    ├── VenueUnavailable        network down, 5xx, rate limited: retry with backoff
    └── OrderOutcomeUnknown     the submit may or may not have reached the venue: re-send the
                                same client_order_id or fetch_order() to learn the outcome
    VenueRejected (UserError)   the venue refused the order (bad price, no funds, ...)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.errors import RetryableError, TradingStrategyError


class VenueUnavailable(RetryableError):
    pass


class OrderOutcomeUnknown(RetryableError):
    def __init__(self, client_order_id: str, detail: str = "") -> None:
        self.client_order_id = client_order_id
        suffix = f": {detail}" if detail else ""
        super().__init__(f"outcome of order {client_order_id} unknown{suffix}")


class VenueRejected(TradingStrategyError):
    def __init__(self, client_order_id: str, reason: str) -> None:
        self.client_order_id = client_order_id
        self.reason = reason
        super().__init__(f"order {client_order_id} rejected by the venue: {reason}")


class OrderRequest(NamedTuple):
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    strategy: str = ""
    #: all-in: a simulated venue fills what the cash pays at the fill price (an exchange's
    #: quote-quantity order); ``quantity`` is the size at the decision price
    size_at_fill: bool = False
    #: all-in only: ``quantity`` caps the fill (a risk limit set it). ``False``: the fill
    #: takes what the cash pays, as a backtest's uncapped all-in order does
    quantity_is_cap: bool = True
    #: the entry this order is an attached exit of (its stop-loss / take-profit, or their
    #: replacement): it sits at the venue with its entry (OTOCO), so no latency delays it,
    #: and when the entry filled at the open of the current bar it is live for the rest of
    #: that bar (``kernel.matching``'s fresh-exit rule)
    parent_id: str | None = None


class OrderAck(NamedTuple):
    """The venue's answer to a submit or cancel."""

    client_order_id: str
    venue_order_id: str
    status: OrderStatus
    reason: str
    ts_event: int


class FillReport(NamedTuple):
    client_order_id: str
    venue_order_id: str
    trade_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    commission: Decimal
    ts_event: int
    liquidity: str = "taker"
    #: the order's quantity at the venue when the venue sized it at this fill (an all-in
    #: order: ``size_at_fill``); ``None`` when it is the quantity requested
    order_quantity: Decimal | None = None


class OrderState(NamedTuple):
    """What the venue knows of one order (for reconciliation)."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    filled_quantity: Decimal
    status: OrderStatus
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    avg_price: Decimal | None = None


class StatusReport(NamedTuple):
    """An unsolicited status change (cancelled, expired, rejected after acceptance)."""

    client_order_id: str
    venue_order_id: str
    status: OrderStatus
    reason: str
    ts_event: int


VenueReport = FillReport | StatusReport


class QueuedReportStream:
    """One consumer's reports through a queue (``None`` ends it): the async iterator every
    adapter's ``reports()`` returns. ``registry`` is the adapter's set of live streams."""

    def __init__(self, registry: set[Any]) -> None:
        self._registry = registry
        self.queue: asyncio.Queue[VenueReport | None] = asyncio.Queue()

    def __aiter__(self) -> QueuedReportStream:
        return self

    async def __anext__(self) -> VenueReport:
        item = await self.queue.get()
        if item is None:
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        self._registry.discard(self)


class Venue(Protocol):
    name: str

    async def submit(self, request: OrderRequest) -> OrderAck:
        """Place an order; idempotent on ``client_order_id``."""
        ...

    async def cancel(self, client_order_id: str) -> OrderAck: ...

    async def fetch_order(self, client_order_id: str) -> OrderState | None: ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderState]: ...

    async def fetch_fills(self, since_ts: int = 0) -> list[FillReport]: ...

    async def fetch_balances(self) -> dict[str, Decimal]: ...

    async def fetch_positions(self) -> dict[str, Decimal]: ...

    def reports(self) -> AsyncIterator[VenueReport]:
        """Fills and status changes as they happen."""
        ...

    async def close(self) -> None: ...
