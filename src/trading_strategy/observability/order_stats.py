"""Order statistics — fill rate and slippage — with one definition for live metrics and
for the whole history of a session read back from its order journal.

Definitions (``docs/observability.md`` repeats them for users):

* **sent**: an order journaled ``submitted`` (it left for the venue). Every sent order ends
  in exactly one bucket: ``filled`` (completely), ``rejected`` (by the venue),
  ``cancelled``, ``expired`` or ``working`` (still at the venue, or its answer never came).
  Risk denials never become orders and are not counted here.
* **fill rate** = filled / sent. Protective exits are sent in pairs (stop and target) of
  which at most one fills, so read it per order type.
* **slippage** of one fill, in basis points, adverse positive::

      bps = s × (fill price − reference) / reference × 10 000,   s = +1 buy, −1 sell

  against the order's own reference price (:func:`reference_price`): the decision price for
  a market order, the limit for a limit order, the stop trigger for stop and stop-limit
  orders. A limit fill better than its limit therefore gives zero or negative slippage.
  A fill without a positive reference price is counted but not in the slippage figures.
* **mean slippage** = Σ notional × bps / Σ notional over the fills with a reference price,
  notional = quantity × reference price: the slippage cost in money over the notional
  traded, in bps, so fills of different instruments (same quote currency) combine fairly;
  ``worst`` is the largest single-fill figure.

Prices are exact ``Decimal`` until the figures are reported as floats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.orders.events import OrderFilled, OrderSubmitted
from trading_strategy.orders.journal import JournalEntry
from trading_strategy.orders.state import ManagedOrder, evolve

__all__ = [
    "ALL_TYPES",
    "OrderTally",
    "order_reference",
    "order_stats",
    "reference_price",
    "slippage_bps",
    "totals",
]

#: the key aggregating every order type of a strategy
ALL_TYPES = "all"
_ZERO = Decimal(0)
_BPS = Decimal(10_000)
_OUTCOME = {OrderStatus.FILLED: "filled", OrderStatus.REJECTED: "rejected",
            OrderStatus.CANCELLED: "cancelled", OrderStatus.EXPIRED: "expired"}


def reference_price(order_type: OrderType | str, *, decision_price: Decimal | None,
                    limit_price: Decimal | None, stop_price: Decimal | None
                    ) -> Decimal | None:
    """The price a fill of this order is measured against (module docstring)."""
    kind = OrderType(order_type)
    if kind is OrderType.MARKET:
        return decision_price
    if kind is OrderType.LIMIT:
        return limit_price
    return stop_price  # stop and stop-limit: where the order was triggered


def order_reference(order: ManagedOrder) -> Decimal | None:
    """:func:`reference_price` of a managed order."""
    return reference_price(order.order_type, decision_price=order.decision_price,
                           limit_price=order.limit_price, stop_price=order.stop_price)


def slippage_bps(side: Side | str, reference: Decimal | None, fill_price: Decimal
                 ) -> Decimal | None:
    """Signed slippage of one fill in bps (adverse positive); None without a reference."""
    if reference is None or reference <= 0:
        return None
    move = (fill_price - reference) / reference * _BPS
    return move if Side(side) is Side.BUY else -move


@dataclass(slots=True)
class OrderTally:
    """Counts and slippage sums of a set of orders (one strategy and order type, or more)."""

    sent: int = 0
    filled: int = 0
    rejected: int = 0
    cancelled: int = 0
    expired: int = 0
    working: int = 0
    fills: int = 0
    filled_quantity: Decimal = _ZERO
    #: Σ quantity × reference price over the fills that had one, and Σ of that × bps
    reference_notional: Decimal = _ZERO
    weighted_bps: Decimal = _ZERO
    worst_bps: Decimal | None = None

    @property
    def fill_rate(self) -> float | None:
        return self.filled / self.sent if self.sent else None

    @property
    def mean_slippage_bps(self) -> float | None:
        if not self.reference_notional:
            return None
        return float(self.weighted_bps / self.reference_notional)

    def add_fill(self, quantity: Decimal, fill_price: Decimal, *, side: Side | str,
                 reference: Decimal | None) -> None:
        self.fills += 1
        self.filled_quantity += quantity
        bps = slippage_bps(side, reference, fill_price)
        if bps is not None and reference is not None:
            notional = quantity * reference
            self.reference_notional += notional
            self.weighted_bps += notional * bps
            if self.worst_bps is None or bps > self.worst_bps:
                self.worst_bps = bps

    def merge(self, other: OrderTally) -> None:
        for name in ("sent", "filled", "rejected", "cancelled", "expired", "working",
                     "fills", "filled_quantity", "reference_notional", "weighted_bps"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.worst_bps is not None and (self.worst_bps is None
                                            or other.worst_bps > self.worst_bps):
            self.worst_bps = other.worst_bps

    def as_dict(self) -> dict[str, Any]:
        rate, mean = self.fill_rate, self.mean_slippage_bps
        return {
            "sent": self.sent, "filled": self.filled, "rejected": self.rejected,
            "cancelled": self.cancelled, "expired": self.expired, "working": self.working,
            "fills": self.fills, "filled_quantity": str(self.filled_quantity),
            "fill_rate": None if rate is None else round(rate, 6),
            "slippage_bps_mean": None if mean is None else round(mean, 4),
            "slippage_bps_worst": None if self.worst_bps is None
            else round(float(self.worst_bps), 4),
        }


#: strategy → order type (``OrderType`` value) → tally
OrderStats = dict[str, dict[str, OrderTally]]


def order_stats(entries: Iterable[JournalEntry]) -> OrderStats:
    """Replay journal entries (any number of processes' worth) into tallies by strategy and
    order type; each strategy also gets an :data:`ALL_TYPES` entry summing its types."""
    orders: dict[str, ManagedOrder] = {}
    sent: set[str] = set()
    stats: OrderStats = {}
    for entry in entries:
        event = entry.event
        before = orders.get(event.order_id)
        order = orders[event.order_id] = evolve(before, event)
        tally = stats.setdefault(order.strategy, {}).setdefault(order.order_type.value,
                                                                 OrderTally())
        if isinstance(event, OrderSubmitted):
            sent.add(order.id)
        elif isinstance(event, OrderFilled):
            tally.add_fill(event.quantity, event.price, side=order.side,
                           reference=order_reference(order))
    for oid in sent:
        order = orders[oid]
        tally = stats[order.strategy][order.order_type.value]
        tally.sent += 1
        outcome = _OUTCOME.get(order.status, "working")
        setattr(tally, outcome, getattr(tally, outcome) + 1)
    for by_type in stats.values():
        by_type[ALL_TYPES] = totals(by_type.values())
    return stats


def totals(tallies: Iterable[OrderTally]) -> OrderTally:
    """One tally summing ``tallies``."""
    out = OrderTally()
    for tally in tallies:
        out.merge(tally)
    return out
