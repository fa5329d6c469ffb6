"""Message bus: fan-out, wildcards, overflow policies, request/response."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Coroutine
from typing import Any

import pytest

from trading_strategy.core.errors import RetryableError
from trading_strategy.runtime.bus import (
    Backpressure,
    Bus,
    BusError,
    Envelope,
    InvalidTopic,
    NoSuchEndpoint,
    Overflow,
    RequestTimeout,
)


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout=5))


@dataclasses.dataclass(frozen=True, slots=True)
class Tick:
    symbol: str
    price: int


def drain(sub: Any) -> list[Envelope[Any]]:
    out = []
    while sub.qsize():
        out.append(sub.get_nowait())
    return out


def test_fan_out_shares_one_immutable_message() -> None:
    async def scenario() -> None:
        bus = Bus(check_messages=True)
        a, b = bus.subscribe("market.bars.BTC", Tick), bus.subscribe("market.bars.BTC")
        other = bus.subscribe("market.bars.ETH")
        msg = Tick("BTC", 100)
        assert await bus.publish("market.bars.BTC", msg) == 2
        got_a, got_b = await a.get(), await b.get()
        assert got_a == ("market.bars.BTC", msg) and got_a.message is msg
        assert got_b.message is msg and got_b.topic == "market.bars.BTC"
        assert other.qsize() == 0
        with pytest.raises(TypeError, match="immutable"):
            await bus.publish("market.bars.BTC", {"price": 1})

    run(scenario())


def test_wildcards() -> None:
    bus = Bus()
    bars = bus.subscribe("market.bars.*")
    everything = bus.subscribe("*")
    exact = bus.subscribe("market.bars")
    for topic in ("market.bars.BTC", "market.bars.BTC.1m", "market.bars", "market.quotes.BTC",
                  "market.barsX.BTC"):
        bus.publish_nowait(topic, topic)
    assert [e.topic for e in drain(bars)] == ["market.bars.BTC", "market.bars.BTC.1m"]
    assert len(drain(everything)) == 5
    assert [e.topic for e in drain(exact)] == ["market.bars"]


@pytest.mark.parametrize("pattern", ["", "market.*.BTC", "market.bars*", ".a", "a.", "*.a",
                                     "a.**"])
def test_invalid_patterns(pattern: str) -> None:
    with pytest.raises(InvalidTopic):
        Bus().subscribe(pattern)


def test_invalid_topic_on_publish() -> None:
    bus = Bus()
    with pytest.raises(InvalidTopic):
        bus.publish_nowait("market.*", 1)
    assert isinstance(InvalidTopic("x"), ValueError)


def test_unsubscribe_and_route_cache() -> None:
    bus = Bus()
    first = bus.subscribe("orders.events")
    assert bus.publish_nowait("orders.events", 1) == 1
    late = bus.subscribe("orders.*")              # after the route was cached
    assert bus.publish_nowait("orders.events", 2) == 2
    first.close()
    first.close()                                 # idempotent
    assert bus.publish_nowait("orders.events", 3) == 1
    with late:
        pass
    assert bus.publish_nowait("orders.events", 4) == 0
    assert [e.message for e in drain(late)] == []  # closing emptied it
    assert bus.stats() == []


def test_order_is_kept_per_subscriber() -> None:
    bus = Bus()
    sub = bus.subscribe("t", maxsize=100)
    for i in range(50):
        bus.publish_nowait("t", i)
    assert [e.message for e in drain(sub)] == list(range(50))


def test_drop_oldest_and_drop_newest_count_drops() -> None:
    bus = Bus()
    oldest = bus.subscribe("q", maxsize=3, overflow=Overflow.DROP_OLDEST, name="quotes")
    newest = bus.subscribe("q", maxsize=3, overflow=Overflow.DROP_NEWEST)
    delivered = [bus.publish_nowait("q", i) for i in range(5)]
    assert delivered == [2, 2, 2, 1, 1]
    assert [e.message for e in drain(oldest)] == [2, 3, 4] and oldest.dropped == 2
    assert [e.message for e in drain(newest)] == [0, 1, 2] and newest.dropped == 2
    stats = {s.name: s for s in bus.stats()}
    assert stats["quotes"].dropped == 2 and stats["quotes"].maxsize == 3


def test_block_applies_backpressure() -> None:
    async def scenario() -> None:
        bus = Bus()
        slow = bus.subscribe("fills", maxsize=2)
        fast = bus.subscribe("fills", maxsize=100)
        await bus.publish("fills", 0)
        await bus.publish("fills", 1)
        with pytest.raises(Backpressure) as info:
            bus.publish_nowait("fills", 99)
        assert isinstance(info.value, RetryableError)
        assert fast.qsize() == 2                        # publish_nowait delivered to nobody
        blocked = asyncio.create_task(bus.publish("fills", 2))
        await asyncio.sleep(0)
        assert not blocked.done()                        # waiting for the slow consumer
        assert fast.qsize() == 3                         # ...who does not delay the others
        assert (await slow.get()).message == 0
        assert await blocked == 2
        assert [e.message for e in drain(slow)] == [1, 2] and slow.dropped == 0

    run(scenario())


def test_closing_a_full_subscription_releases_its_publisher() -> None:
    async def scenario() -> None:
        bus = Bus()
        stuck = bus.subscribe("t", maxsize=1)
        bus.publish_nowait("t", 0)
        blocked = asyncio.create_task(bus.publish("t", 1))
        await asyncio.sleep(0)
        assert not blocked.done()
        stuck.close()
        await asyncio.wait_for(blocked, 1)

    run(scenario())


def test_async_iteration() -> None:
    async def scenario() -> None:
        bus = Bus()
        sub = bus.subscribe("t")
        for i in range(3):
            bus.publish_nowait("t", i)
        seen = []
        async for env in sub:
            seen.append(env.message)
            if len(seen) == 3:
                break
        assert seen == [0, 1, 2]

    run(scenario())


def test_request_response() -> None:
    async def scenario() -> None:
        bus = Bus()

        async def double(x: int) -> int:
            return 2 * x

        async def broken(x: int) -> int:
            raise KeyError("no such order")

        bus.register_endpoint("double", double)
        bus.register_endpoint("broken", broken)
        assert await bus.request("double", 21) == 42
        with pytest.raises(KeyError, match="no such order"):
            await bus.request("broken", 1)
        with pytest.raises(BusError, match="already registered"):
            bus.register_endpoint("double", double)
        with pytest.raises(NoSuchEndpoint, match="registered: broken, double"):
            await bus.request("triple", 1)
        bus.unregister_endpoint("broken")
        with pytest.raises(NoSuchEndpoint):
            await bus.request("broken", 1)

    run(scenario())


def test_request_timeout_cancels_the_handler() -> None:
    async def scenario() -> None:
        bus = Bus()
        cancelled = asyncio.Event()

        async def hang(_: object) -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

        async def own_timeout(_: object) -> None:
            raise TimeoutError("venue socket timed out")

        bus.register_endpoint("venue.place", hang)
        bus.register_endpoint("venue.own", own_timeout)
        started = time.perf_counter()
        with pytest.raises(RequestTimeout) as info:
            await bus.request("venue.place", "order-1", timeout=0.01)
        assert time.perf_counter() - started < 0.5
        assert isinstance(info.value, RetryableError)
        assert info.value.endpoint == "venue.place" and info.value.timeout == 0.01
        assert cancelled.is_set()
        with pytest.raises(TimeoutError, match="venue socket") as own:
            await bus.request("venue.own", None, timeout=1)
        assert not isinstance(own.value, RequestTimeout)

    run(scenario())


def test_publish_is_cheap() -> None:
    """Sanity bound only (machine-dependent): a few µs per publish to five subscribers."""

    async def scenario() -> None:
        bus = Bus()
        subs = [bus.subscribe("market.bars.BTC", maxsize=20_000) for _ in range(3)]
        subs += [bus.subscribe("market.bars.*", maxsize=20_000), bus.subscribe("*", maxsize=20_000)]
        msg = Tick("BTC", 1)
        n = 10_000
        started = time.perf_counter()
        for _ in range(n):
            await bus.publish("market.bars.BTC", msg)
        per_publish = (time.perf_counter() - started) / n
        assert per_publish < 50e-6, f"{per_publish * 1e6:.1f} µs per publish"

    run(scenario())
