"""Order intents, orders and fills.

A strategy expresses what it wants as an ``OrderIntent``; the risk engine turns it into an
accepted, resized or rejected verdict; an accepted intent becomes an ``Order`` at a venue.
Prices are integer ticks and quantities integer lots of the instrument (see
``core.instrument``); ``None`` means "not applicable" (e.g. no limit price on a market order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from trading_strategy.core.enums import OPEN_STATUSES, OrderStatus, OrderType, Side, TimeInForce


@dataclass(frozen=True, slots=True)
class Bracket:
    """Exits attached to an entry, as absolute prices in ticks."""

    stop_loss: int | None = None
    take_profit: int | None = None


class OrderIntent(NamedTuple):
    """What a strategy wants; immutable. ``lots`` is unsigned (side carries direction).

    A NamedTuple rather than a frozen dataclass: one is built per order on the hot path and
    tuple construction is several times cheaper.
    """

    client_order_id: str
    strategy: str
    symbol: str
    side: Side
    lots: int
    order_type: OrderType = OrderType.MARKET
    limit_ticks: int | None = None
    stop_ticks: int | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    bracket: Bracket | None = None
    ts_init: int = 0
    #: the price (ticks) the strategy decided on, used for sizing and slippage attribution
    decision_ticks: int | None = None
    #: all-in: ``lots`` is the most the order may have; the (simulated) venue fills what the
    #: cash pays at the fill price, as a quote-quantity order does at an exchange
    size_at_fill: bool = False
    #: all-in only: ``lots`` caps the fill (a risk limit set it). ``False``: the fill takes
    #: what the cash pays at the fill price, even above ``lots`` (sized at the decision price)
    quantity_is_cap: bool = True
    #: the entry this order is an attached exit of (it sits at the venue with its entry)
    parent_id: str | None = None


@dataclass(slots=True, eq=False)
class Order:
    """A live order at a venue. Mutated only by the venue/engine applying events."""

    id: str
    strategy: str
    symbol: str
    side: Side
    lots: int
    order_type: OrderType
    limit_ticks: int | None
    stop_ticks: int | None
    tif: TimeInForce
    reduce_only: bool
    bracket: Bracket | None
    created_index: int
    eligible_index: int
    ts_init: int
    decision_ticks: int | None = None
    #: every order starts CREATED; ``kernel.order_states`` moves it from there
    status: OrderStatus = OrderStatus.CREATED
    filled_lots: int = 0
    triggered: bool = False
    #: UTC day of the first eligible bar (a DAY order expires after it); None: not yet known
    first_day: int | None = None
    #: id of the entry this exit belongs to (its sibling is ``kernel.exits``' business)
    parent_id: str | None = None
    #: resize an all-in order at fill time from the cash then available
    size_at_fill: bool = False
    max_lots: int | None = None
    commission_charged: bool = False
    reason: str = ""
    tag: str = ""

    @property
    def remaining_lots(self) -> int:
        return self.lots - self.filled_lots

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Fill(NamedTuple):
    """One execution (immutable); ``commission`` and ``slippage`` in money units (tick × lot)."""

    order_id: str
    strategy: str
    symbol: str
    side: Side
    lots: int
    price_ticks: int
    ts_event: int
    bar_index: int
    commission: int
    slippage: int
    liquidity: str = "taker"
