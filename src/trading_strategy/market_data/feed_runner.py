"""The asyncio driver of ``FeedCore``: providers' streams in, the watchdog's clock, backfills.

``LiveFeed`` subscribes and connects every provider an instrument lists (a standby is
subscribed like the primary, so failover needs no reconnect; one that cannot connect is
retried with backoff), pumps each provider's stream
into the core, polls provider health and ticks the watchdog every ``watch_every_s``, and runs
the backfills the core asks for (each provider in the request's order, with a timeout). All
decisions are the core's; this module only moves events and time. One event loop: the core
is never entered concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import NamedTuple

import structlog

from trading_strategy.core.clock import Clock
from trading_strategy.market_data.feed import FeedCore
from trading_strategy.market_data.health_events import BackfillRequest, FeedHealthEvent
from trading_strategy.market_data.providers.base import (
    BarEvent,
    Health,
    HealthChange,
    LiveProvider,
    QuoteEvent,
    TradeEvent,
)
from trading_strategy.market_data.providers.connection import Backoff

__all__ = ["FeedItem", "LiveFeed", "QueueSink"]

log = structlog.get_logger("trading_strategy.market_data.feed")


class FeedItem(NamedTuple):
    """One thing the feed tells its consumer, in the order it decided it."""

    event: BarEvent | TradeEvent | QuoteEvent | FeedHealthEvent
    #: a bar delivered from a backfill (history), not as it closed
    backfilled: bool = False


class QueueSink:
    """A ``FeedSink`` for an async consumer (a session's loop): everything the core says,
    in order, through one queue (``items()``). Unbounded: the core decides synchronously
    and must never block; a consumer that falls behind shows as ``backlog``."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[FeedItem | None] = asyncio.Queue()

    def on_bar(self, event: BarEvent, backfilled: bool) -> None:
        self._queue.put_nowait(FeedItem(event, backfilled))

    def on_trade(self, event: TradeEvent) -> None:
        self._queue.put_nowait(FeedItem(event))

    def on_quote(self, event: QuoteEvent) -> None:
        self._queue.put_nowait(FeedItem(event))

    def on_health(self, event: FeedHealthEvent) -> None:
        self._queue.put_nowait(FeedItem(event))

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def end(self) -> None:
        """``items()`` ends after what is queued now."""
        self._queue.put_nowait(None)

    async def items(self) -> AsyncIterator[FeedItem]:
        while (item := await self._queue.get()) is not None:
            yield item


class LiveFeed:
    """Runs a ``FeedCore`` over live providers (see the module docstring)."""

    def __init__(
        self,
        core: FeedCore,
        providers: Mapping[str, LiveProvider],
        *,
        clock: Clock,
        watch_every_s: float = 0.25,
        backfill_timeout_s: float = 10.0,
        connect_retry_s: tuple[float, float] = (0.5, 30.0),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        missing = sorted(set(core.providers) - set(providers))
        if missing:
            raise ValueError(f"the feed names providers with no adapter: {', '.join(missing)}")
        self.core = core
        self._providers = {name: providers[name] for name in core.providers}
        self._clock = clock
        self._watch_every_s = watch_every_s
        self._backfill_timeout_s = backfill_timeout_s
        self._retry_base_s, self._retry_cap_s = connect_retry_s
        self._sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        """Connect and subscribe every provider, then pump their streams and start the
        watchdog. A provider that cannot connect is DOWN, not fatal: the feed fails over and
        retries it with capped exponential backoff and full jitter until it connects."""
        for name in self._providers:
            if not await self._open(name):
                self._run(self.core.on_provider_health(name, Health.DOWN,
                                                       self._clock.now_ns()))
                self._spawn(self._reconnect(name))
        self._spawn(self._watchdog())

    async def _open(self, name: str) -> bool:
        provider = self._providers[name]
        try:
            # subscribed before connecting: the connection asks for everything at once, in a
            # few batched requests (thousands of streams one request each would take minutes
            # at Binance's 5 requests a second); subscribing again on a retry is a no-op
            for config in self.core.subscriptions()[name]:
                for subscription in config.subscriptions():
                    await provider.subscribe(subscription)
            await provider.connect()
        except Exception as exc:
            log.warning("feed_provider_unavailable", provider=name, error=str(exc))
            return False
        self._spawn(self._pump(name, provider))
        return True

    async def _reconnect(self, name: str) -> None:
        # once connected, reconnecting is the provider's own job (the contract)
        backoff = Backoff(self._retry_base_s, self._retry_cap_s)
        while not self._closed:
            await self._sleep(backoff.next_delay())
            if await self._open(name):
                return

    async def close(self) -> None:
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for name, provider in self._providers.items():
            try:
                await provider.close()
            except Exception as exc:
                log.warning("feed_provider_close_failed", provider=name, error=str(exc))

    def on_health_change(self, change: HealthChange) -> None:
        """A provider's health callback (``on_health=feed.on_health_change``): failover on
        DOWN at once instead of at the next watchdog step."""
        if change.provider in self._providers:
            self._run(self.core.on_provider_health(change.provider, change.current,
                                                   self._clock.now_ns()))

    def watch_once(self) -> None:
        """One watchdog step now: provider health, failover, staleness."""
        now = self._clock.now_ns()
        for name, provider in self._providers.items():
            try:
                health = provider.health
            except Exception:  # an adapter that cannot say is not trusted
                health = Health.DOWN
            if health is not self.core.health(name):
                self._run(self.core.on_provider_health(name, health, now))
        self._run(self.core.tick(now))

    async def _watchdog(self) -> None:
        while not self._closed:
            await self._sleep(self._watch_every_s)
            self.watch_once()

    async def _pump(self, name: str, provider: LiveProvider) -> None:
        core = self.core
        try:
            async for event in provider.stream():
                request = core.on_event(event, name)
                if request is not None:
                    self._spawn(self._backfill(request))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the contract says a stream reconnects inside: this is fatal
            log.error("feed_stream_failed", provider=name, error=repr(exc))
        if not self._closed:
            log.warning("feed_stream_ended", provider=name)
            self._run(core.on_provider_health(name, Health.DOWN, self._clock.now_ns()))

    async def _backfill(self, request: BackfillRequest) -> None:
        for name in request.providers:
            provider = self._providers[name]
            try:
                bars = await asyncio.wait_for(
                    provider.request_bars(request.symbol, request.timeframe,
                                          request.start_ns, request.end_ns),
                    self._backfill_timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("feed_backfill_failed", provider=name, symbol=request.symbol,
                            error=repr(exc))
                continue
            self._run(self.core.complete_backfill(request.symbol, bars, name,
                                                  self._clock.now_ns()))
            return
        self._run(self.core.complete_backfill(request.symbol, None, "", self._clock.now_ns()))

    def _run(self, requests: Iterable[BackfillRequest]) -> None:
        for request in requests:
            self._spawn(self._backfill(request))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
