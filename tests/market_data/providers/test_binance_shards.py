"""Binance subscriptions past one connection's 1,024 streams, against the fake stream server
on 127.0.0.1: ``BinanceProvider`` spreads them over connections, each subscribing, pacing and
reconnecting on its own, and the feed still sees one provider (one stream, one health)."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from trading_strategy.market_data.providers.base import (
    Channel,
    Health,
    MarketEvent,
    Subscription,
    TradeEvent,
)
from trading_strategy.market_data.providers.binance import MAX_STREAMS, BinanceProvider
from trading_strategy.market_data.providers.connection import ConnectionSettings
from trading_strategy.market_data.providers.shards import combined_health
from trading_strategy.testing_exchange import (
    AwaitRequest,
    Drop,
    FakeStreamServer,
    Pause,
    Send,
    Step,
    binance_reply,
)

SETTINGS = ConnectionSettings(backoff_base=0.01, backoff_cap=0.05, silence_timeout=5.0,
                              ping_interval=None, open_timeout=2.0,
                              max_messages_per_second=50)
T_MS = 1717200000000


def sub(i: int) -> Subscription:
    return Subscription(f"C{i}/USDT", Channel.TRADES)


def trade(i: int, trade_id: int = 1) -> str:
    return json.dumps({"stream": f"c{i}usdt@trade", "data": {
        "e": "trade", "E": T_MS, "s": f"C{i}USDT", "t": trade_id, "p": "1.5", "q": "2",
        "T": T_MS, "m": False, "M": True}})


def streams(received: list[str]) -> list[str]:
    """The streams a connection's requests subscribed to, in order."""
    out: list[str] = []
    for text in received:
        request = json.loads(text)
        assert request["method"] == "SUBSCRIBE"
        assert len(request["params"]) <= 200  # each request stays small
        out.extend(request["params"])
    return out


def names(first: int, stop: int) -> list[str]:
    return sorted(f"c{i}usdt@trade" for i in range(first, stop))


async def collect(provider: BinanceProvider, count: int) -> list[MarketEvent]:
    out: list[MarketEvent] = []
    async with asyncio.timeout(5):
        async for event in provider.stream():
            out.append(event)
            if len(out) == count:
                break
    return out


def test_2100_streams_take_three_connections_and_come_out_as_one_stream() -> None:
    async def run() -> tuple[BinanceProvider, FakeStreamServer, list[MarketEvent]]:
        scripts: list[list[Step]] = [[AwaitRequest(), Pause(0.2), Send(trade(i))]
                                     for i in (5, 1500, 2099)]
        async with FakeStreamServer(scripts, reply=binance_reply) as server:
            provider = BinanceProvider(ws_url=server.url, rest_url="http://127.0.0.1:9",
                                       settings=SETTINGS, rng=random.Random(1))
            for i in range(2100):
                await provider.subscribe(sub(i))
            await provider.connect()
            try:
                events = await collect(provider, 3)
                assert provider.health is Health.LIVE
            finally:
                await provider.close()
            return provider, server, events

    provider, server, events = asyncio.run(run())
    assert server.connections == 3 and server.paths == ["/stream"] * 3
    assert [sorted(streams(r)) for r in server.received] == [
        names(0, 1024), names(1024, 2048), names(2048, 2100)]
    # each connection asked in as few requests as 200 streams each allow
    assert [len(r) for r in server.received] == [6, 6, 1]
    assert [provider.shard_of(sub(i)) for i in (0, 1023, 1024, 2047, 2048, 2099)] == \
        [0, 0, 1, 1, 2, 2]
    assert [(e.symbol, e.provider) for e in events if isinstance(e, TradeEvent)] == [
        ("C5/USDT", "binance"), ("C1500/USDT", "binance"), ("C2099/USDT", "binance")]
    # each connection paces its own requests (Binance's limit is per connection)
    assert len({id(shard._limiter) for shard in provider.shards}) == 3
    assert len(provider.subscriptions) == 2100 and provider.stats.events == 3


def test_one_connection_dropping_resubscribes_only_its_own_streams() -> None:
    async def run() -> tuple[BinanceProvider, FakeStreamServer, list[MarketEvent]]:
        scripts: list[list[Step]] = [
            [AwaitRequest()],
            [AwaitRequest(), Pause(0.3), Drop()],
            [AwaitRequest()],
            [AwaitRequest(), Pause(0.1), Send(trade(1500))],  # connection 2, again
        ]
        async with FakeStreamServer(scripts, reply=binance_reply) as server:
            provider = BinanceProvider(ws_url=server.url, rest_url="http://127.0.0.1:9",
                                       settings=SETTINGS, rng=random.Random(1))
            for i in range(2100):
                await provider.subscribe(sub(i))
            await provider.connect()
            try:
                events = await collect(provider, 1)
                await asyncio.sleep(0.1)
            finally:
                await provider.close()
            return provider, server, events

    provider, server, events = asyncio.run(run())
    assert server.connections == 4
    assert sorted(streams(server.received[3])) == names(1024, 2048)
    # the others were never asked again
    assert [sorted(streams(server.received[i])) for i in (0, 2)] == [
        names(0, 1024), names(2048, 2100)]
    assert [len(server.received[i]) for i in (0, 2)] == [6, 1]
    assert [shard.stats.reconnects for shard in provider.shards] == [0, 1, 0]
    assert [(e.symbol, e.provider) for e in events if isinstance(e, TradeEvent)] == [
        ("C1500/USDT", "binance")]
    # one provider's health: degraded while one connection of three was down, never DOWN
    changes = [(c.previous, c.current, c.reason) for c in provider.health_history]
    down = next(i for i, c in enumerate(changes) if c[2].startswith(
        "connection 2 of 3: disconnected"))
    assert changes[down][:2] == (Health.LIVE, Health.DEGRADED)
    assert (Health.DEGRADED, Health.LIVE) in [c[:2] for c in changes[down:]]
    assert all(c[1] is not Health.DOWN for c in changes[down:-1])
    assert changes[-1] == (Health.LIVE, Health.DOWN, "closed")


def test_an_unsubscribed_slot_is_reused_on_its_connection() -> None:
    async def run() -> tuple[BinanceProvider, FakeStreamServer]:
        scripts: list[list[Step]] = [[AwaitRequest(), AwaitRequest(), AwaitRequest()],
                                     [AwaitRequest(), AwaitRequest()], [AwaitRequest()]]
        async with FakeStreamServer(scripts, reply=binance_reply) as server:
            provider = BinanceProvider(ws_url=server.url, rest_url="http://127.0.0.1:9",
                                       settings=SETTINGS, rng=random.Random(1), max_streams=2)
            for i in range(3):
                await provider.subscribe(sub(i))
            await provider.connect()
            try:
                await provider.unsubscribe(sub(0))
                await provider.subscribe(sub(3))  # the free slot on the first connection
                await provider.subscribe(sub(4))  # the second one's free slot
                await provider.subscribe(sub(5))  # a third connection, opened at once
                for index in range(3):
                    await server.wait_script(index)
            finally:
                await provider.close()
            return provider, server

    provider, server = asyncio.run(run())
    requests = [[(json.loads(t)["method"], json.loads(t)["params"]) for t in r]
                for r in server.received]
    assert requests == [
        [("SUBSCRIBE", ["c0usdt@trade", "c1usdt@trade"]), ("UNSUBSCRIBE", ["c0usdt@trade"]),
         ("SUBSCRIBE", ["c3usdt@trade"])],
        [("SUBSCRIBE", ["c2usdt@trade"]), ("SUBSCRIBE", ["c4usdt@trade"])],
        [("SUBSCRIBE", ["c5usdt@trade"])]]
    assert len(provider.shards) == 3


def test_the_provider_health_combines_its_connections() -> None:
    live, down, connecting, degraded = (Health.LIVE, Health.DOWN, Health.CONNECTING,
                                        Health.DEGRADED)
    assert combined_health([]) is down
    assert combined_health([live, live]) is live
    assert combined_health([down, down]) is down
    assert combined_health([connecting, down]) is connecting
    assert combined_health([live, down]) is degraded
    assert combined_health([live, degraded]) is degraded
    assert combined_health([live, connecting]) is degraded


def test_max_streams_is_binance_limit_at_most() -> None:
    with pytest.raises(ValueError, match=r"max_streams must be 1\.\.1024"):
        BinanceProvider(max_streams=MAX_STREAMS + 1)
