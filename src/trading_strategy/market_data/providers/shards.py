"""``ShardedProvider``: one provider over as many connections as its subscriptions need.

A source that caps the streams of one connection (Binance: 1,024) gets a subscription set of
any size spread over several connections (*shards*), and the feed still sees one provider:
one name, one ``stream()``, one health.

* **Placement.** A subscription goes to the first shard with room (fewer than ``capacity``
  streams), else to a new shard; it stays there until unsubscribed (its slot is then free
  for the next one). So 2,100 streams at 1,024 a connection make 3 connections.
* **Each shard is a whole connection** (``WebSocketProvider``): its own reconnect with
  backoff and jitter, its own silence timeout, and its own outgoing rate limit (a source's
  limit on control messages is per connection). A dropped shard reconnects and resubscribes
  its own streams only; the others never notice.
* **One stream**: every shard puts its events into one bounded queue, in arrival order
  (a slow consumer holds back every shard's reader: backpressure, not loss).
* **One health**: every shard LIVE → LIVE; every shard DOWN → DOWN; only CONNECTING or DOWN
  → CONNECTING; any other mix (some shards up, some not, or a gap) → DEGRADED. With one
  shard the provider's health changes are exactly the shard's (same states, same reasons);
  with several, a reason names the connection ("connection 2 of 3: disconnected ...").
  The feed's per-instrument staleness catches the instruments of a shard that went silent.
* **Connecting**: ``connect`` opens every shard; it raises (``RetryableError``) only when
  none could connect, and a shard that could not keeps trying in the background.
  Subscribing before ``connect`` sends each shard's subscriptions in a few batched requests
  at its opening (``LiveFeed`` does so); after it, each subscription is one request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import RetryableError
from trading_strategy.market_data.providers.base import (
    Health,
    HealthChange,
    MarketEvent,
    Subscription,
)
from trading_strategy.market_data.providers.connection import (
    BarHistory,
    ConnectionSettings,
    HealthTracker,
    ProviderStats,
    WebSocketProvider,
)

__all__ = ["ShardedProvider", "combined_health"]


def combined_health(states: Sequence[Health]) -> Health:
    """The provider's health from its shards' (the module docstring's rule)."""
    kinds = set(states)
    if not kinds or kinds == {Health.DOWN}:
        return Health.DOWN
    if kinds == {Health.LIVE}:
        return Health.LIVE
    if kinds <= {Health.CONNECTING, Health.DOWN}:
        return Health.CONNECTING
    return Health.DEGRADED


class ShardedProvider:
    """A ``LiveProvider`` over shards (see the module docstring). Subclasses say how a shard
    is made (``_make_shard``) and which stream a subscription is (``_stream_of``)."""

    def __init__(self, *, name: str, capacity: int, history: BarHistory,
                 settings: ConnectionSettings | None = None,
                 on_health: Callable[[HealthChange], None] | None = None,
                 clock_ns: Callable[[], int]) -> None:
        if capacity < 1:
            raise ValueError(f"a shard holds at least one stream, got capacity={capacity}")
        self.name = name
        self.capacity = capacity
        self.settings = settings or ConnectionSettings()
        self._history = history
        self._clock_ns = clock_ns
        self._health = HealthTracker(name, clock_ns, on_health)
        self._events: asyncio.Queue[MarketEvent | None] = asyncio.Queue(
            self.settings.queue_size)
        self.shards: list[WebSocketProvider] = []
        self._shard_of: dict[Subscription, WebSocketProvider] = {}
        self._connected = False
        self._closed = False

    # --- subclass hooks ---------------------------------------------------------------
    def _make_shard(self, events: asyncio.Queue[MarketEvent | None],
                    on_health: Callable[[HealthChange], None]) -> WebSocketProvider:
        raise NotImplementedError

    def _stream_of(self, subscription: Subscription) -> str:
        """The source's stream name (raises ConfigError for what it cannot serve)."""
        raise NotImplementedError

    # --- views ------------------------------------------------------------------------
    @property
    def health(self) -> Health:
        return self._health.state

    @property
    def health_history(self) -> list[HealthChange]:
        return self._health.history

    def health_changes(self) -> AsyncIterator[HealthChange]:
        return self._health.changes()

    @property
    def subscriptions(self) -> list[Subscription]:
        return list(self._shard_of)

    @property
    def stats(self) -> ProviderStats:
        """Every shard's counts added up."""
        return ProviderStats.total([shard.stats for shard in self.shards])

    def shard_of(self, subscription: Subscription) -> int:
        """The index of the shard serving ``subscription`` (``KeyError`` if none)."""
        return self.shards.index(self._shard_of[subscription])

    # --- the contract -------------------------------------------------------------------
    async def connect(self) -> None:
        if self._closed:
            raise RuntimeError(f"provider {self.name} is closed")
        if not self.shards:
            self._new_shard()
        failures: list[RetryableError] = []
        waiting = [shard for shard in self.shards if not shard.started]
        for shard in waiting:
            try:
                await shard.connect()
            except RetryableError as exc:
                failures.append(exc)
        if waiting and len(failures) == len(waiting) and not any(
                s.started for s in self.shards):
            raise failures[0]
        self._connected = True
        for shard in waiting:
            shard.connect_in_background()  # the ones that failed keep trying

    async def subscribe(self, subscription: Subscription) -> None:
        if subscription in self._shard_of:
            return
        self._stream_of(subscription)  # refused before any shard is touched
        shard = next((s for s in self.shards if len(s.subscriptions) < self.capacity), None)
        fresh = shard is None
        if shard is None:
            shard = self._new_shard()
        await shard.subscribe(subscription)
        self._shard_of[subscription] = shard
        if fresh and self._connected:
            try:
                await shard.connect()
            except RetryableError:
                shard.connect_in_background()

    async def unsubscribe(self, subscription: Subscription) -> None:
        shard = self._shard_of.pop(subscription, None)
        if shard is not None:
            await shard.unsubscribe(subscription)

    async def stream(self) -> AsyncIterator[MarketEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def request_bars(self, symbol: str, timeframe: str, start_ns: int,
                           end_ns: int) -> BarSeries:
        return await self._history.request_bars(symbol, timeframe, start_ns, end_ns)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._health.set(Health.DOWN, "closed")
        for shard in self.shards:
            await shard.close()
        self._health.end()
        while True:  # the end marker must get in even past a full queue
            try:
                self._events.put_nowait(None)
                break
            except asyncio.QueueFull:
                self._events.get_nowait()
        await self._history.close()

    # --- internals --------------------------------------------------------------------
    def _new_shard(self) -> WebSocketProvider:
        index = len(self.shards)

        def on_health(change: HealthChange) -> None:
            self._shard_health(index, change)

        shard = self._make_shard(self._events, on_health)
        self.shards.append(shard)
        return shard

    def _shard_health(self, index: int, change: HealthChange) -> None:
        if self._closed:
            return
        count = len(self.shards)
        reason = change.reason if count == 1 else (
            f"connection {index + 1} of {count}: {change.reason}")
        self._health.set(combined_health([s.health for s in self.shards]), reason)


class NoHistory(BarHistory):
    """A shard's history: its provider answers ``request_bars`` itself."""

    async def request_bars(self, symbol: str, timeframe: str, start_ns: int,
                           end_ns: int) -> BarSeries:
        raise NotImplementedError("ask the sharded provider, not one of its connections")
