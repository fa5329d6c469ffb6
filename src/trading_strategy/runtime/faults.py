"""Deterministic crash points for recovery tests (inactive unless the variable is set).

``TS_FAULT_CRASH=<point>:<n>`` makes the process SIGKILL itself the *n*-th time it passes
``point``, so a test can kill a session exactly between two steps that must survive a crash:

* ``before_venue_submit``: the journal says SUBMITTED; the venue has not been reached;
* ``after_venue_ack``: the venue has accepted an order; our journal does not know yet;
* ``before_fill_journal``: the venue has filled an order; the fill is not journaled yet;
* ``after_fill_journal``: the fill is journaled (and booked); the protective stop-loss and
  take-profit it calls for are not placed yet.

Every point is passed on every order or fill, so ``<point>:<n>`` picks the *n*-th.

(Deliberately outside the ``TRADING_STRATEGY_`` settings prefix: it is not a setting.)
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from trading_strategy.orders.venues.base import (
    FillReport,
    OrderAck,
    OrderRequest,
    OrderState,
    Venue,
    VenueReport,
)

ENV = "TS_FAULT_CRASH"
_spec = os.environ.get(ENV, "")
_point, _, _count = _spec.partition(":")
_remaining = {_point: int(_count or 1)} if _point else {}


def active() -> bool:
    return bool(_remaining)


def crash_point(name: str) -> None:
    left = _remaining.get(name)
    if left is None:
        return
    if left <= 1:
        os.kill(os.getpid(), signal.SIGKILL)
    _remaining[name] = left - 1


class CrashingVenue:
    """Wraps a venue: ``before_venue_submit`` before each submit reaches it,
    ``after_venue_ack`` after each accepted one."""

    def __init__(self, inner: Venue) -> None:
        self._inner = inner
        self.name = inner.name

    async def submit(self, request: OrderRequest) -> OrderAck:
        crash_point("before_venue_submit")
        ack = await self._inner.submit(request)
        crash_point("after_venue_ack")
        return ack

    async def cancel(self, client_order_id: str) -> OrderAck:
        return await self._inner.cancel(client_order_id)

    async def fetch_order(self, client_order_id: str) -> OrderState | None:
        return await self._inner.fetch_order(client_order_id)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderState]:
        return await self._inner.fetch_open_orders(symbol)

    async def fetch_fills(self, since_ts: int = 0) -> list[FillReport]:
        return await self._inner.fetch_fills(since_ts)

    async def fetch_balances(self) -> dict[str, Decimal]:
        return await self._inner.fetch_balances()

    async def fetch_positions(self) -> dict[str, Decimal]:
        return await self._inner.fetch_positions()

    def reports(self) -> AsyncIterator[VenueReport]:
        return self._inner.reports()

    async def close(self) -> None:
        await self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
