"""Is the venue reachable? ``VenueLink`` tells, from the outcome of every call an adapter makes.

An adapter reports each request's outcome: ``failed(reason)`` when it never got an answer
(network error, timeout, 5xx, exchange maintenance), ``answered()`` when the venue answered —
with data or with a refusal (an unknown order, no funds): a refusal proves the link works.
The first answer after one or more failures is a **reconnect**: a ``VenueReconnected`` goes
to every ``reconnects()`` stream. While the link was down, fills and cancellations may have
happened that no poll saw, so whoever trades on the venue reconciles on each one
(``runtime.reconcile.ReconnectReconciler``).

Rate limits are not outages (the venue answered "slow down"): adapters leave them out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = ["ReconnectStream", "Reconnecting", "VenueLink", "VenueReconnected"]


class VenueReconnected(NamedTuple):
    """The venue answers again after failing since ``down_since_ns`` (our clock)."""

    venue: str
    #: when the first failed call of the outage ended
    down_since_ns: int
    #: when the first answer after it arrived
    ts_ns: int
    #: why the first call failed (secrets already redacted by the adapter)
    reason: str
    #: failed calls during the outage
    failures: int


class ReconnectStream:
    """One consumer's reconnect signals through a queue (``None`` ends it)."""

    def __init__(self, registry: set[asyncio.Queue[VenueReconnected | None]]) -> None:
        self._registry = registry
        self.queue: asyncio.Queue[VenueReconnected | None] = asyncio.Queue()
        registry.add(self.queue)

    def __aiter__(self) -> ReconnectStream:
        return self

    async def __anext__(self) -> VenueReconnected:
        item = await self.queue.get()
        if item is None:
            self._registry.discard(self.queue)
            raise StopAsyncIteration
        return item

    def drain(self) -> int:
        """Drop the signals waiting (one reconcile covers them all); how many there were.
        An end marker among them stays."""
        dropped = 0
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if item is None:
                self.queue.put_nowait(None)
                break
            dropped += 1
        return dropped

    async def aclose(self) -> None:
        self._registry.discard(self.queue)


@runtime_checkable
class Reconnecting(Protocol):
    """A venue that signals reconnects (``CcxtVenue``); paper venues in-process never
    disconnect and do not implement it."""

    def reconnects(self) -> ReconnectStream: ...


class VenueLink:
    """The reachability of one venue (see the module docstring). Not thread-safe: call it
    from the event loop that runs the adapter."""

    def __init__(self, venue: str, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.venue = venue
        self._clock_ns = clock_ns
        self.up = True
        self.down_since_ns: int | None = None
        self.reason = ""
        self.failures = 0
        #: reconnects so far (an epoch: a caller can tell whether one happened since it looked)
        self.reconnect_count = 0
        #: monotonic time of the last answer (a heartbeat skips its ping when recent)
        self.last_answer = time.monotonic()
        self._streams: set[asyncio.Queue[VenueReconnected | None]] = set()

    def failed(self, reason: str) -> None:
        if self.up:
            self.up = False
            self.down_since_ns = self._clock_ns()
            self.reason = reason
            self.failures = 0
        self.failures += 1

    def answered(self) -> None:
        self.last_answer = time.monotonic()
        if self.up:
            return
        signal = VenueReconnected(self.venue, self.down_since_ns or 0, self._clock_ns(),
                                  self.reason, self.failures)
        self.up = True
        self.down_since_ns = None
        self.reconnect_count += 1
        for queue in self._streams:
            queue.put_nowait(signal)

    @property
    def listened(self) -> bool:
        return bool(self._streams)

    def reconnects(self) -> ReconnectStream:
        """Every reconnect from now on (registered at once, not at the first ``anext``),
        until ``close``."""
        return ReconnectStream(self._streams)

    def close(self) -> None:
        for queue in self._streams:
            queue.put_nowait(None)
        self._streams.clear()
