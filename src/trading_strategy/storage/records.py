"""Plain records exchanged with the trading and event repositories (not ORM rows).

Times are int nanoseconds since the Unix epoch, UTC, like the core messages
(``ts_event`` when it happened, ``ts_init`` when we saw it), kept to the microsecond
(PostgreSQL's resolution; Python datetimes carry them on both engines). Prices,
quantities and money are exact ``Decimal``. Enumerations are stored by value, so either
the enum or its string may be passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

__all__ = [
    "FillRecord",
    "OrderEventRecord",
    "OrderRecord",
    "PositionRecord",
    "RiskEventRecord",
    "StrategyEventRecord",
    "text_of",
]


def text_of(value: str | Enum) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: str  # client order id
    strategy: str
    symbol: str
    side: str | Enum
    order_type: str | Enum
    quantity: Decimal
    status: str | Enum
    ts_init: int
    mode: str = "paper"
    venue: str = "SIM"
    time_in_force: str | Enum = "GTC"
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    parent_id: str | None = None
    venue_order_id: str | None = None
    filled_quantity: Decimal = Decimal(0)
    ts_last: int | None = None  # last change; ts_init when None


@dataclass(frozen=True, slots=True)
class OrderEventRecord:
    """One order state transition for the append-only journal."""

    order_id: str
    ts_event: int
    ts_init: int
    to_status: str | Enum
    cause: str
    actor: str
    from_status: str | Enum | None = None
    detail: Mapping[str, Any] | None = None
    id: int | None = None  # set when read back


@dataclass(frozen=True, slots=True)
class FillRecord:
    fill_id: str  # venue trade id or our own: recording the same fill twice is a no-op
    order_id: str
    strategy: str
    symbol: str
    side: str | Enum
    quantity: Decimal
    price: Decimal
    commission: Decimal
    ts_event: int
    ts_init: int | None = None  # when we saw it; ts_event when not given
    liquidity: str = "taker"


@dataclass(frozen=True, slots=True)
class PositionRecord:
    mode: str
    strategy: str
    symbol: str
    quantity: Decimal  # signed: short < 0
    avg_price: Decimal
    realized_pnl: Decimal
    ts: int


@dataclass(frozen=True, slots=True)
class RiskEventRecord:
    """A risk verdict: accepted, resized or rejected, with its reason."""

    ts_event: int
    strategy: str
    verdict: str | Enum
    reason: str
    symbol: str | None = None
    client_order_id: str | None = None
    trading_state: str | Enum | None = None
    detail: Mapping[str, Any] | None = field(default=None)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class StrategyEventRecord:
    """A strategy lifecycle transition (starting, running, degraded, stopped ...)."""

    ts_event: int
    strategy: str
    to_state: str | Enum
    reason: str = ""
    from_state: str | Enum | None = None
    detail: Mapping[str, Any] | None = None
    id: int | None = None
