"""In-process message bus: topics (publish/subscribe) and named request endpoints.

Components own their state and talk only through the bus. Messages are immutable (frozen
dataclasses, NamedTuples, strings, numbers): the bus never copies them, so every subscriber
receives the *same object*.

Topics
    A topic is a non-empty dot-separated string without ``*`` (``"market.bars.BTCUSDT"``).
    A subscription pattern is either an exact topic, or a prefix ending in ``.*``
    (``"market.bars.*"`` matches every topic that starts with ``"market.bars."``, at any
    depth: ``market.bars.BTCUSDT`` and ``market.bars.BTCUSDT.1m``, but not ``market.bars``
    itself), or ``"*"`` alone, which matches every topic. ``*`` anywhere else is refused.

Delivery
    Every subscription has its own bounded :class:`asyncio.Queue` of :class:`Envelope`
    (``topic``, ``message``). A publish puts one shared envelope into each matching queue, in
    subscription order. Per subscriber, messages from one publisher keep their order.

Slow subscribers: the overflow policy (per subscription, see :class:`Overflow`)
    * ``BLOCK`` (default; nothing is lost): ``await bus.publish()`` first delivers to every
      subscriber with room, then waits until each full ``BLOCK`` queue has room: the slow
      consumer slows the publisher down (backpressure). ``bus.publish_nowait()`` never
      waits: if any matching ``BLOCK`` queue is full it raises :class:`Backpressure`
      *before delivering to anyone*.
    * ``DROP_OLDEST`` (conflation, e.g. quotes): the oldest queued envelope is discarded to
      make room for the new one; ``subscription.dropped`` counts the discards.
    * ``DROP_NEWEST``: the new envelope is discarded for that subscriber; ``dropped`` counts.

    A subscriber must not publish to a ``BLOCK`` topic it consumes itself (it could wait on
    its own queue forever). Close subscriptions you no longer read (``with bus.subscribe(...)
    as sub:``); closing one empties its queue, which releases a publisher waiting on it.

Requests
    ``register_endpoint(name, handler)`` with ``async handler(message) -> reply``;
    ``await bus.request(name, message, timeout=...)`` awaits the handler in the caller's task
    and returns its reply; the handler's own exceptions reach the caller unchanged. After
    ``timeout`` seconds the handler is cancelled and :class:`RequestTimeout` (a
    ``RetryableError``) is raised: the outcome of a side-effecting handler is then unknown,
    so such requests must be idempotent (e.g. carry a client order id).

Cost: the route of each topic is resolved once and cached until the next (un)subscribe, so a
publish is a dict lookup plus one ``put_nowait`` per subscriber.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from enum import Enum, StrEnum
from types import TracebackType
from typing import Any, Generic, NamedTuple, TypeVar, overload

from trading_strategy.core.errors import RetryableError, TradingStrategyError

M = TypeVar("M")
Handler = Callable[[Any], Awaitable[Any]]

_IMMUTABLE = (str, bytes, int, float, bool, type(None), Decimal, Enum, frozenset, tuple)


class BusError(TradingStrategyError):
    """Misuse of the bus (bad topic, unknown or duplicate endpoint)."""


class InvalidTopic(BusError, ValueError):
    """A topic or pattern that breaks the rules in the module docstring."""


class NoSuchEndpoint(BusError, LookupError):
    """``request`` named an endpoint nobody registered."""


class Backpressure(RetryableError):
    """``publish_nowait`` found a full ``BLOCK`` subscriber; nothing was delivered."""


class RequestTimeout(RetryableError):
    """The endpoint did not reply within the timeout; its handler was cancelled."""

    def __init__(self, endpoint: str, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        super().__init__(f"request to {endpoint!r} timed out after {timeout:g}s")


class Overflow(StrEnum):
    """What a publish does when a subscriber's queue is full (see module docstring)."""

    BLOCK = "block"
    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"


class Envelope(NamedTuple, Generic[M]):
    """One delivery: the concrete topic it was published on and the (shared) message."""

    topic: str
    message: M


@dataclasses.dataclass(frozen=True, slots=True)
class SubscriptionStats:
    name: str
    pattern: str
    depth: int
    maxsize: int
    dropped: int


class Subscription(Generic[M]):
    """A subscriber's end: read envelopes with ``await get()`` or ``async for``."""

    __slots__ = ("_bus", "_queue", "closed", "dropped", "name", "overflow", "pattern")

    def __init__(self, bus: Bus, pattern: str, name: str, maxsize: int,
                 overflow: Overflow) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Envelope[M]] = asyncio.Queue(maxsize)
        self.pattern = pattern
        self.name = name
        self.overflow = overflow
        self.dropped = 0
        self.closed = False

    async def get(self) -> Envelope[M]:
        return await self._queue.get()

    def get_nowait(self) -> Envelope[M]:
        """Raise :class:`asyncio.QueueEmpty` when nothing is queued."""
        return self._queue.get_nowait()

    def qsize(self) -> int:
        return self._queue.qsize()

    @property
    def maxsize(self) -> int:
        return self._queue.maxsize

    def close(self) -> None:
        """Unsubscribe and empty the queue (releasing publishers blocked on it). Idempotent."""
        if not self.closed:
            self.closed = True
            self._bus._remove(self)
            while not self._queue.empty():
                self._queue.get_nowait()

    def __enter__(self) -> Subscription[M]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __aiter__(self) -> AsyncIterator[Envelope[M]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Envelope[M]]:
        while True:  # ends only by cancellation of the consuming task
            yield await self._queue.get()

    def __repr__(self) -> str:
        return (f"Subscription({self.name!r}, {self.pattern!r}, depth={self.qsize()}, "
                f"dropped={self.dropped})")


def _check_topic(topic: str) -> None:
    if not topic or "*" in topic or topic.startswith(".") or topic.endswith("."):
        raise InvalidTopic(f"invalid topic {topic!r}: non-empty, dot-separated, no '*'")


def _check_pattern(pattern: str) -> None:
    if pattern == "*":
        return
    body = pattern[:-2] if pattern.endswith(".*") else pattern
    try:
        _check_topic(body)
    except InvalidTopic:
        raise InvalidTopic(
            f"invalid pattern {pattern!r}: an exact topic, a prefix ending in '.*', or '*'"
        ) from None


def is_immutable(message: object) -> bool:
    """Shallow check used by ``Bus(check_messages=True)``: scalars, tuples, frozen dataclasses."""
    if isinstance(message, _IMMUTABLE):
        return True
    params = getattr(type(message), "__dataclass_params__", None)
    return bool(params is not None and params.frozen)


class Bus:
    """The in-process bus. Create one per session; it holds no global state.

    ``check_messages=True`` refuses (``TypeError``) messages that are not immutable per
    :func:`is_immutable` — meant for tests and development, it costs a little per publish.
    """

    def __init__(self, *, check_messages: bool = False) -> None:
        self._exact: dict[str, list[Subscription[Any]]] = {}
        self._prefixed: list[tuple[str, Subscription[Any]]] = []  # ("a.b.", sub), ("", sub)
        self._routes: dict[str, tuple[Subscription[Any], ...]] = {}
        self._endpoints: dict[str, Handler] = {}
        self._check = check_messages
        self._seq = 0

    # --- publish/subscribe -------------------------------------------------------------
    @overload
    def subscribe(self, pattern: str, *, maxsize: int = ..., overflow: Overflow = ...,
                  name: str | None = ...) -> Subscription[Any]: ...

    @overload
    def subscribe(self, pattern: str, message_type: type[M], *, maxsize: int = ...,
                  overflow: Overflow = ..., name: str | None = ...) -> Subscription[M]: ...

    def subscribe(self, pattern: str, message_type: type[Any] | None = None, *,
                  maxsize: int = 1024, overflow: Overflow = Overflow.BLOCK,
                  name: str | None = None) -> Subscription[Any]:
        """Subscribe to ``pattern``. ``message_type`` only types the result (not checked)."""
        _check_pattern(pattern)
        if maxsize < 1:
            raise BusError(f"maxsize must be at least 1, got {maxsize}")
        self._seq += 1
        sub: Subscription[Any] = Subscription(self, pattern, name or f"sub-{self._seq}",
                                              maxsize, Overflow(overflow))
        if pattern == "*":
            self._prefixed.append(("", sub))
        elif pattern.endswith(".*"):
            self._prefixed.append((pattern[:-1], sub))
        else:
            self._exact.setdefault(pattern, []).append(sub)
        self._routes.clear()
        return sub

    def unsubscribe(self, sub: Subscription[Any]) -> None:
        sub.close()

    def _remove(self, sub: Subscription[Any]) -> None:
        exact = self._exact.get(sub.pattern)
        if exact is not None and sub in exact:
            exact.remove(sub)
            if not exact:
                del self._exact[sub.pattern]
        self._prefixed = [(p, s) for p, s in self._prefixed if s is not sub]
        self._routes.clear()

    def _resolve(self, topic: str) -> tuple[Subscription[Any], ...]:
        _check_topic(topic)
        matched = list(self._exact.get(topic, ()))
        matched += [s for prefix, s in self._prefixed if topic.startswith(prefix)]
        route = tuple(matched)
        self._routes[topic] = route
        return route

    def publish_nowait(self, topic: str, message: object) -> int:
        """Deliver without ever waiting; return how many subscribers received the message.

        Raises :class:`Backpressure` (delivering to nobody) if a ``BLOCK`` subscriber is full.
        """
        subs = self._routes.get(topic)
        if subs is None:
            subs = self._resolve(topic)
        for sub in subs:
            if sub.overflow is Overflow.BLOCK and sub._queue.full():
                raise Backpressure(f"subscriber {sub.name!r} of {topic!r} is full "
                                   f"({sub.maxsize}); retry or use await publish()")
        return self._deliver(subs, topic, message)[0]

    async def publish(self, topic: str, message: object) -> int:
        """Deliver to every matching subscriber, waiting for room in full ``BLOCK`` queues.

        Returns how many subscribers received the message (``DROP_NEWEST`` discards excluded).
        """
        subs = self._routes.get(topic)
        if subs is None:
            subs = self._resolve(topic)
        delivered, blocked, envelope = self._deliver(subs, topic, message)
        for sub in blocked:
            if not sub.closed:
                await sub._queue.put(envelope)
        return delivered

    def _deliver(self, subs: tuple[Subscription[Any], ...], topic: str,
                 message: object) -> tuple[int, list[Subscription[Any]], Envelope[Any]]:
        if self._check and not is_immutable(message):
            raise TypeError(f"bus messages must be immutable, got {type(message).__name__}")
        envelope: Envelope[Any] = Envelope(topic, message)
        delivered = len(subs)
        blocked: list[Subscription[Any]] = []
        for sub in subs:
            try:
                sub._queue.put_nowait(envelope)
            except asyncio.QueueFull:
                if sub.overflow is Overflow.DROP_OLDEST:
                    sub._queue.get_nowait()
                    sub._queue.put_nowait(envelope)
                    sub.dropped += 1
                elif sub.overflow is Overflow.DROP_NEWEST:
                    sub.dropped += 1
                    delivered -= 1
                else:
                    blocked.append(sub)
        return delivered, blocked, envelope

    def stats(self) -> list[SubscriptionStats]:
        """Queue depth and drop counters of every live subscription (for metrics)."""
        subs = [s for group in self._exact.values() for s in group]
        subs += [s for _, s in self._prefixed]
        return [SubscriptionStats(s.name, s.pattern, s.qsize(), s.maxsize, s.dropped)
                for s in subs]

    # --- request/response --------------------------------------------------------------
    def register_endpoint(self, name: str, handler: Handler) -> None:
        if name in self._endpoints:
            raise BusError(f"endpoint {name!r} is already registered")
        self._endpoints[name] = handler

    def unregister_endpoint(self, name: str) -> None:
        self._endpoints.pop(name, None)

    async def request(self, name: str, message: object, *, timeout: float = 5.0) -> Any:
        """Call endpoint ``name`` and return its reply (see the module docstring)."""
        handler = self._endpoints.get(name)
        if handler is None:
            known = ", ".join(sorted(self._endpoints)) or "none"
            raise NoSuchEndpoint(f"no endpoint {name!r} (registered: {known})")
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                return await handler(message)
        except TimeoutError:
            if deadline.expired():
                raise RequestTimeout(name, timeout) from None
            raise
