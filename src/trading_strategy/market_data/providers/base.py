"""The market data provider contract.

A provider connects to one source (a stored history, an exchange's public WebSocket feed, a
REST API), is told what to deliver (``subscribe``: an instrument's bars of a timeframe, its
trades, its best bid/ask) and yields typed events in arrival order from ``stream()``. Every
event carries ``ts_event`` (when it happened, by the source's clock), ``ts_init`` (when it
reached us, by ours: decision latency is measured from it) and ``provider`` (who delivered
it: failover and the audit trail need to know). ``request_bars`` serves history for warm-up
and gap backfill. ``health`` says whether the source can be trusted right now.

Wire parsing lives in pure modules beside each adapter (no socket there), so it is tested on
recorded messages alone; adapters only move bytes and keep the connection discipline
(reconnect with capped exponential backoff and full jitter, resubscribe, heartbeats).

``BarEvent`` stays the shape the runtime consumes (symbol, timeframe, bar, ts_init) with the
provider as an optional last field, so a replay and a live feed drive a session alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple, Protocol

from trading_strategy.core.bars import Bar, BarSeries
from trading_strategy.core.enums import Side


class BarEvent(NamedTuple):
    """A closed bar. ``bar.ts_event`` is the bar's open time at the source."""

    symbol: str
    timeframe: str
    bar: Bar
    ts_init: int
    provider: str = ""


class TradeEvent(NamedTuple):
    """One public trade (an exchange's match)."""

    symbol: str
    price: Decimal
    size: Decimal
    #: the taker's side, when the source says it
    aggressor: Side | None
    trade_id: str
    ts_event: int
    ts_init: int
    provider: str = ""


class QuoteEvent(NamedTuple):
    """The best bid and ask (top of book)."""

    symbol: str
    bid: Decimal
    bid_size: Decimal
    ask: Decimal
    ask_size: Decimal
    ts_event: int
    ts_init: int
    provider: str = ""


MarketEvent = BarEvent | TradeEvent | QuoteEvent


class Channel(StrEnum):
    BARS = "bars"
    TRADES = "trades"
    QUOTES = "quotes"


@dataclass(frozen=True, slots=True)
class Subscription:
    """What to deliver for one instrument: ``timeframe`` is required for bars only."""

    symbol: str
    channel: Channel
    timeframe: str | None = None


class Health(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    #: connected but not trustworthy (stale, rate-limited, sequence gaps): failover may act
    DEGRADED = "degraded"
    DOWN = "down"


class HealthChange(NamedTuple):
    """A provider's health moved (an event in logs, metrics and the audit journal)."""

    provider: str
    previous: Health
    current: Health
    reason: str
    ts_init: int


class MarketDataProvider(Protocol):
    """The minimal contract every source meets (historical replay included)."""

    name: str

    def stream(self) -> AsyncIterator[BarEvent]:
        """Events in arrival order until the source ends (replay) or is closed (live)."""
        ...

    async def close(self) -> None: ...


class LiveProvider(Protocol):
    """A source that is connected, subscribed to and asked for history."""

    name: str

    def stream(self) -> AsyncIterator[MarketEvent]:
        """Events of every subscription in arrival order until ``close``; reconnects inside
        (a reconnect is a health change, never the end of the stream)."""
        ...

    async def close(self) -> None: ...

    @property
    def health(self) -> Health: ...

    async def connect(self) -> None:
        """Open the connection (returns once connected or raises a RetryableError)."""
        ...

    async def subscribe(self, subscription: Subscription) -> None: ...

    async def unsubscribe(self, subscription: Subscription) -> None: ...

    async def request_bars(self, symbol: str, timeframe: str, start_ns: int,
                           end_ns: int) -> BarSeries:
        """Closed bars opening in ``[start_ns, end_ns)``, oldest first (history, backfill)."""
        ...
