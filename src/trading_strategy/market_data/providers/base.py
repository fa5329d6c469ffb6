"""The market data provider contract.

A provider yields ``BarEvent``s in time order for the instruments it was asked for. ``ts_init``
is stamped when the event is handed to us (our clock), ``bar.ts_event`` is the bar's open time
at the source; decision latency is measured from ``ts_init``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import NamedTuple, Protocol

from trading_strategy.core.bars import Bar


class BarEvent(NamedTuple):
    symbol: str
    timeframe: str
    bar: Bar
    ts_init: int


class MarketDataProvider(Protocol):
    name: str

    def stream(self) -> AsyncIterator[BarEvent]:
        """Bar events in time order until the source ends (replay) or is closed (live)."""
        ...

    async def close(self) -> None: ...
