"""Connection discipline shared by the WebSocket providers.

* **Reconnect** with capped exponential backoff and full jitter: the n-th attempt waits a
  uniform random time in ``[0, min(cap, base · 2ⁿ)]`` (``Backoff``; seed its RNG in tests).
  The attempt count resets once a connection has delivered a message, so a server that
  accepts and drops at once is not hammered.
* **Resubscribe** every subscription on each new connection.
* **Liveness**: the library answers the server's pings and sends its own
  (``ping_interval``/``ping_timeout``); any connection that delivers no message for
  ``silence_timeout`` seconds is treated as dead and replaced (Binance streams are never
  silent for long; Coinbase's heartbeat channel ticks every second).
* **Outgoing rate limit**: a token bucket (``RateLimiter``) paces requests (Binance allows
  5 messages a second on a connection).
* **Slow consumers** are met with backpressure, not loss: ``stream()`` is fed through a
  bounded queue and the reader stops reading the socket while it is full.

A provider starts DOWN (not connected). Health moves CONNECTING → LIVE on connect,
LIVE → DOWN when a connection drops or falls silent, DOWN → CONNECTING on each attempt,
LIVE ↔ DEGRADED when data went missing (a trade-id or kline gap) and when it flows in order
again. Each move is a ``HealthChange``, handed to the ``on_health`` callback given to the
provider (called synchronously in the provider's task: keep it short) and kept in
``health_history``; ``health_changes()`` is the same as an async iterator. Unreadable
messages never escape: they are counted in ``stats`` (by kind) and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import RetryableError
from trading_strategy.market_data.providers._wire import Decoded, WireError, WireErrorKind
from trading_strategy.market_data.providers.base import (
    Health,
    HealthChange,
    MarketEvent,
    Subscription,
)

log = structlog.get_logger("trading_strategy.market_data.providers")
_CONNECT_ERRORS = (OSError, TimeoutError, InvalidHandshake, InvalidURI)


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    #: no message at all for this long → the connection is dead and is replaced
    silence_timeout: float = 30.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    open_timeout: float = 10.0
    #: outgoing requests per second (Binance: 5)
    max_messages_per_second: float = 5.0
    #: events buffered for ``stream()`` before the reader stops reading the socket
    queue_size: int = 10_000


class Backoff:
    """Capped exponential backoff with full jitter."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        if base <= 0 or cap < base:
            raise ValueError(f"backoff needs 0 < base <= cap, got base={base} cap={cap}")
        self.base, self.cap = base, cap
        self._rng = rng or random.Random()
        self.attempt = 0

    def ceiling(self) -> float:
        return float(min(self.cap, self.base * 2.0 ** min(self.attempt, 62)))

    def next_delay(self) -> float:
        delay = self._rng.uniform(0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


class RateLimiter:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int | None = None, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0, got {rate}")
        self.rate = rate
        self.burst = burst if burst is not None else max(1, int(rate))
        self._monotonic, self._sleep = monotonic, sleep
        self._tokens = float(self.burst)
        self._stamp = monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = self._monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.rate)
                self._tokens, self._stamp = 1.0, self._monotonic()
            self._tokens -= 1


class HealthTracker:
    def __init__(self, provider: str, clock_ns: Callable[[], int],
                 on_change: Callable[[HealthChange], None] | None = None) -> None:
        self.provider = provider
        self.state = Health.DOWN
        self.history: list[HealthChange] = []
        self._clock_ns = clock_ns
        self._on_change = on_change
        self._listeners: list[asyncio.Queue[HealthChange | None]] = []

    def set(self, state: Health, reason: str) -> None:
        if state is self.state:
            return
        change = HealthChange(self.provider, self.state, state, reason, self._clock_ns())
        self.state = state
        self.history.append(change)
        log.info("provider health", provider=self.provider, previous=change.previous.value,
                 current=state.value, reason=reason)
        if self._on_change is not None:
            self._on_change(change)
        for queue in self._listeners:
            queue.put_nowait(change)

    async def changes(self) -> AsyncIterator[HealthChange]:
        queue: asyncio.Queue[HealthChange | None] = asyncio.Queue()
        self._listeners.append(queue)
        try:
            while (change := await queue.get()) is not None:
                yield change
        finally:
            self._listeners.remove(queue)

    def end(self) -> None:
        for queue in self._listeners:
            queue.put_nowait(None)


@dataclass(slots=True)
class ProviderStats:
    messages: int = 0
    events: int = 0
    malformed: int = 0
    unknown: int = 0
    venue_errors: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    gaps: int = 0
    reconnects: int = 0
    #: a message that made our own code raise (a bug): logged with its traceback, dropped
    internal_errors: int = 0
    #: the last unreadable messages, for a status page
    last_errors: deque[WireError] = field(default_factory=lambda: deque(maxlen=20))

    def count(self, error: WireError) -> None:
        if error.kind is WireErrorKind.MALFORMED:
            self.malformed += 1
        elif error.kind is WireErrorKind.UNKNOWN:
            self.unknown += 1
        else:
            self.venue_errors += 1
        self.last_errors.append(error)

    @classmethod
    def total(cls, parts: Sequence[ProviderStats]) -> ProviderStats:
        """The counts of several connections added up (their last errors, newest kept)."""
        out = cls()
        for part in parts:
            for name in ("messages", "events", "malformed", "unknown", "venue_errors",
                         "duplicates", "out_of_order", "gaps", "reconnects",
                         "internal_errors"):
                setattr(out, name, getattr(out, name) + getattr(part, name))
            out.last_errors.extend(part.last_errors)
        return out


class BarHistory:
    """What a WebSocket provider delegates ``request_bars`` to (``CcxtHistory``)."""

    async def request_bars(self, symbol: str, timeframe: str, start_ns: int,
                           end_ns: int) -> BarSeries:
        raise NotImplementedError

    async def close(self) -> None:
        return None


class WebSocketProvider:
    """The connection loop of a ``LiveProvider``; an adapter supplies the wire hooks."""

    name: str

    def __init__(self, *, name: str, ws_url: str, history: BarHistory,
                 settings: ConnectionSettings | None = None, rng: random.Random | None = None,
                 on_health: Callable[[HealthChange], None] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns,
                 events: asyncio.Queue[MarketEvent | None] | None = None) -> None:
        self.name = name
        self.ws_url = ws_url
        self.settings = settings or ConnectionSettings()
        self.stats = ProviderStats()
        self._history = history
        self._clock_ns = clock_ns
        self._health = HealthTracker(name, clock_ns, on_health)
        self._backoff = Backoff(self.settings.backoff_base, self.settings.backoff_cap, rng)
        self._limiter = RateLimiter(self.settings.max_messages_per_second)
        self._subs: dict[Subscription, None] = {}
        #: ``events`` given: one connection of several sharing the queue of their
        #: ``ShardedProvider``, which ends it (this connection never does)
        self._owns_events = events is None
        self._events: asyncio.Queue[MarketEvent | None] = (
            events if events is not None else asyncio.Queue(self.settings.queue_size))
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    # --- adapter hooks --------------------------------------------------------------
    def _url(self) -> str:
        return self.ws_url

    def _check(self, subscriptions: Sequence[Subscription]) -> None:
        """Refuse what the source cannot serve (ConfigError) before anything is sent."""

    def _added(self, subscription: Subscription) -> None:
        """A new subscription (map its symbol, build its bars), before any request."""

    def _removed(self, subscription: Subscription) -> None:
        """A subscription ended, after ``_subs`` lost it."""

    def _subscribe_messages(self, added: Sequence[Subscription]) -> list[str]:
        raise NotImplementedError

    def _unsubscribe_messages(self, removed: Subscription) -> list[str]:
        raise NotImplementedError

    def _decode(self, raw: str | bytes, ts_init: int) -> Decoded:
        raise NotImplementedError

    def _route(self, decoded: Decoded, ts_init: int) -> list[MarketEvent]:
        """The events a subscriber gets from one decoded message."""
        return list(decoded.events)

    # --- the contract -----------------------------------------------------------------
    @property
    def health(self) -> Health:
        return self._health.state

    @property
    def health_history(self) -> list[HealthChange]:
        return self._health.history

    def health_changes(self) -> AsyncIterator[HealthChange]:
        """Health changes from now on, until ``close``."""
        return self._health.changes()

    @property
    def subscriptions(self) -> list[Subscription]:
        return list(self._subs)

    @property
    def started(self) -> bool:
        """Connected once (the connection loop runs, reconnecting when needed)."""
        return self._task is not None

    async def connect(self) -> None:
        if self._task is not None:
            return
        if self._closed:
            raise RuntimeError(f"provider {self.name} is closed")
        self._health.set(Health.CONNECTING, f"connecting to {self._url()}")
        try:
            ws = await self._open()
        except _CONNECT_ERRORS as exc:
            self._health.set(Health.DOWN, f"connect failed: {exc}")
            raise RetryableError(f"{self.name}: cannot connect to {self._url()}: {exc}") \
                from None
        self._task = asyncio.create_task(self._run(ws), name=f"provider-{self.name}")

    def connect_in_background(self) -> None:
        """Start the connection loop without waiting: it connects with backoff, as after a
        drop (a ``ShardedProvider`` whose other connections are up uses it)."""
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._run(None), name=f"provider-{self.name}")

    async def subscribe(self, subscription: Subscription) -> None:
        if subscription in self._subs:
            return
        self._check([*self._subs, subscription])
        self._subs[subscription] = None
        self._added(subscription)
        if self._ws is not None:  # else the connection subscribes everything on opening
            await self._send(self._subscribe_messages([subscription]))

    async def unsubscribe(self, subscription: Subscription) -> None:
        if subscription not in self._subs:
            return
        del self._subs[subscription]
        self._removed(subscription)
        if self._ws is not None:
            await self._send(self._unsubscribe_messages(subscription))

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
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws is not None:
            await self._ws.close()
        self._health.set(Health.DOWN, "closed")
        self._health.end()
        self._end_stream()
        await self._history.close()

    # --- the loop ---------------------------------------------------------------------
    async def _open(self) -> ClientConnection:
        s = self.settings
        ws = await connect(self._url(), open_timeout=s.open_timeout,
                           ping_interval=s.ping_interval, ping_timeout=s.ping_timeout,
                           close_timeout=1.0, max_size=2**22)
        self._ws = ws
        await self._send(self._subscribe_messages(list(self._subs)))
        self._health.set(Health.LIVE, "connected")
        return ws

    async def _send(self, messages: Sequence[str]) -> None:
        ws = self._ws
        if ws is None:
            return
        for message in messages:
            await self._limiter.acquire()
            with contextlib.suppress(ConnectionClosed):  # the reconnect resubscribes
                await ws.send(message)

    async def _run(self, ws: ClientConnection | None) -> None:
        try:
            if ws is None:
                ws = await self._reconnect()
            while not self._closed:
                reason = await self._read(ws)
                self._ws = None
                self._health.set(Health.DOWN, reason)
                ws = await self._reconnect()
        except Exception as exc:  # a bug: end the stream loudly rather than freeze it
            log.exception("provider failed", provider=self.name)
            self._health.set(Health.DOWN, f"provider failed: {exc!r}")
            self._end_stream()

    def _end_stream(self) -> None:
        if not self._owns_events:
            return
        while True:  # the end marker must get in even if a slow consumer left it full
            try:
                self._events.put_nowait(None)
                return
            except asyncio.QueueFull:
                self._events.get_nowait()

    async def _reconnect(self) -> ClientConnection:
        while True:
            await asyncio.sleep(self._backoff.next_delay())
            self.stats.reconnects += 1
            self._health.set(Health.CONNECTING, f"reconnect attempt {self._backoff.attempt}")
            try:
                return await self._open()
            except _CONNECT_ERRORS as exc:
                self._health.set(Health.DOWN, f"connect failed: {exc}")

    async def _read(self, ws: ClientConnection) -> str:
        """Read until the connection ends; returns why it ended."""
        timeout = self.settings.silence_timeout
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout)
                except TimeoutError:
                    ws.transport.abort()
                    return f"no message for {timeout:g} s"
                self._backoff.reset()
                await self._handle(raw)
        except ConnectionClosed as exc:
            return f"disconnected ({exc})"

    async def _handle(self, raw: str | bytes) -> None:
        ts_init = self._clock_ns()
        self.stats.messages += 1
        try:
            decoded = self._decode(raw, ts_init)
            events = self._route(decoded, ts_init)
        except Exception:  # never let one message end the session
            self.stats.internal_errors += 1
            log.exception("message handling failed", provider=self.name,
                          excerpt=str(raw)[:200])
            return
        if decoded.error is not None:
            self.stats.count(decoded.error)
            log.warning("unreadable message dropped", provider=self.name,
                        kind=decoded.error.kind.value, reason=decoded.error.reason,
                        excerpt=decoded.error.excerpt)
            return
        if decoded.dropped is not None:
            if decoded.dropped == "duplicate":
                self.stats.duplicates += 1
            else:
                self.stats.out_of_order += 1
            return
        if decoded.gap is not None:
            self.stats.gaps += 1
            self._health.set(Health.DEGRADED, f"gap: {decoded.gap}")
        elif self._health.state is Health.DEGRADED and not decoded.ack:
            self._health.set(Health.LIVE, "data in order again")
        for event in events:
            self.stats.events += 1
            await self._events.put(event)
