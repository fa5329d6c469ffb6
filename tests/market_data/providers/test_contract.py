"""The provider contract, one module for every WebSocket adapter.

Each adapter is driven by the fake stream server on 127.0.0.1 (real sockets) playing its
recorded messages with one fault injected, and the test asserts the exact events a
subscriber gets and the exact health changes. Timeouts are short so the module runs in
seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import Side
from trading_strategy.core.errors import ConfigError, RetryableError
from trading_strategy.market_data.providers._wire import Decoded
from trading_strategy.market_data.providers.base import (
    BarEvent,
    Channel,
    Health,
    MarketEvent,
    QuoteEvent,
    Subscription,
    TradeEvent,
)
from trading_strategy.market_data.providers.binance import BinanceConnection, BinanceProvider
from trading_strategy.market_data.providers.coinbase import CoinbaseProvider
from trading_strategy.market_data.providers.connection import (
    ConnectionSettings,
    WebSocketProvider,
)
from trading_strategy.market_data.providers.shards import ShardedProvider
from trading_strategy.testing_exchange import (
    AwaitRequest,
    Drop,
    FakeBinance,
    FakeCoinbase,
    FakeStreamServer,
    Pause,
    Send,
    ServedApp,
    Step,
    binance_reply,
    coinbase_reply,
)

from .samples import texts

MS = 1_000_000
S = 1_000_000_000
MIDNIGHT = 1717200000 * S
SETTINGS = ConnectionSettings(backoff_base=0.01, backoff_cap=0.05, silence_timeout=0.3,
                              ping_interval=None, open_timeout=2.0,
                              max_messages_per_second=50)
LIVE = [(Health.DOWN, Health.CONNECTING), (Health.CONNECTING, Health.LIVE)]
RECONNECTED = [(Health.LIVE, Health.DOWN), (Health.DOWN, Health.CONNECTING),
               (Health.CONNECTING, Health.LIVE)]
#: a provider under test: one connection, or several behind one face (Binance)
Adapter = WebSocketProvider | ShardedProvider
MALFORMED = ["{\"stream\": \"x\", \"data\": {\"e\": \"tr", "\x00 not json", "[]"]


def d(text: str) -> Decimal:
    return Decimal(text)


@dataclass(frozen=True)
class Kit:
    """What the contract needs to know about one adapter."""

    name: str
    make: Callable[[str, str, ConnectionSettings], Adapter]
    reply: Callable[[str], str | None]
    subscriptions: list[Subscription]
    texts: dict[str, str]
    #: a normal session: message keys in arrival order, and what the subscriber gets
    stream: list[str]
    expected: list[MarketEvent]
    #: messages whose second copy is a duplicate, and one that arrives after later ones
    duplicated: list[str]
    late: str
    #: a session with a loss in it; the events and the gap's reason
    gap_stream: list[str]
    gap_expected: list[MarketEvent]
    gap_reason: str
    #: a fake of the source's REST history holding the bar the gap spoilt, and that bar
    rest: Callable[[], Any]
    backfilled: BarEvent


def binance_kit() -> Kit:
    def bar(minute: int, o: str, h: str, low: str, c: str, v: str) -> BarEvent:
        return BarEvent("BTC/USDT", "1m", Bar("BTC/USDT", MIDNIGHT + minute * 60 * S,
                        float(o), float(h), float(low), float(c), float(v)), 0, "binance")

    def trade(n: int, price: str, size: str, side: Side, ms: int) -> TradeEvent:
        return TradeEvent("BTC/USDT", d(price), d(size), side, f"360000000{n}",
                          (1717200000000 + ms) * MS, 0, "binance")

    def quote(b: str, bs: str, a: str, az: str) -> QuoteEvent:
        return QuoteEvent("BTC/USDT", d(b), d(bs), d(a), d(az), 0, 0, "binance")

    k0 = bar(0, "67500.01", "67530.00", "67480.00", "67515.50", "2.5")
    k1 = bar(1, "67515.50", "67560.00", "67510.00", "67540.25", "1.1")
    k2 = bar(2, "67540.25", "67545.00", "67495.00", "67501.00", "0.8")
    k3 = bar(3, "67501.00", "67550.00", "67500.00", "67533.33", "3.0")
    t0 = trade(1, "67500.01000000", "0.00150000", Side.SELL, 1000)
    t1 = trade(2, "67501.00000000", "0.01000000", Side.BUY, 1500)
    t2 = trade(3, "67499.99000000", "0.20000000", Side.SELL, 2000)
    q0 = quote("67500.00000000", "1.20000000", "67500.01000000", "0.35000000")
    q1 = quote("67500.50000000", "0.80000000", "67501.00000000", "2.00000000")
    return Kit(
        name="binance",
        make=lambda ws, rest, settings: BinanceProvider(ws_url=ws, rest_url=rest,
                                                        settings=settings,
                                                        rng=random.Random(1)),
        reply=binance_reply,
        subscriptions=[Subscription("BTC/USDT", Channel.BARS, "1m"),
                       Subscription("BTC/USDT", Channel.TRADES),
                       Subscription("BTC/USDT", Channel.QUOTES)],
        texts=texts("binance"),
        stream=["kline_open", "kline_0", "trade_0", "book_ticker_0", "trade_1", "kline_1",
                "book_ticker_1", "trade_2", "kline_2", "kline_3"],
        expected=[k0, t0, q0, t1, k1, q1, t2, k2, k3],
        duplicated=["kline_0", "trade_1", "book_ticker_1"],
        late="trade_0",
        gap_stream=["kline_0", "kline_1", "kline_3", "trade_0"],
        gap_expected=[k0, k1, k3, t0],
        gap_reason="gap: BTC/USDT kline_1m: bars opening 1717200120000..1717200120000 ms "
                   "never arrived",
        rest=binance_rest,
        backfilled=k2,
    )


def coinbase_kit() -> Kit:
    def trade(n: int, price: str, size: str, side: Side, ns: int) -> TradeEvent:
        return TradeEvent("BTC/USD", d(price), d(size), side, f"70000010{n}", MIDNIGHT + ns,
                          0, "coinbase")

    def quote(b: str, bs: str, a: str, az: str, ns: int) -> QuoteEvent:
        return QuoteEvent("BTC/USD", d(b), d(bs), d(a), d(az), MIDNIGHT + ns, 0, "coinbase")

    def bar(minute: int, o: float, h: float, low: float, c: float, v: float) -> BarEvent:
        return BarEvent("BTC/USD", "1m", Bar("BTC/USD", MIDNIGHT + minute * 60 * S, o, h, low,
                                             c, v), 0, "coinbase")

    m0 = trade(1, "67500.01", "0.05000000", Side.BUY, 1 * S)
    m1 = trade(2, "67520.00", "0.10000000", Side.SELL, 30_250_000_000)
    m2 = trade(3, "67490.50", "0.02500000", Side.BUY, 59_999_999_000)
    m3 = trade(4, "67510.00", "0.30000000", Side.SELL, 65 * S)
    m4 = trade(5, "67530.00", "0.00100000", Side.BUY, 130 * S)
    m6 = trade(7, "67535.00", "0.00200000", Side.BUY, 140 * S)
    q0 = quote("67500.00", "0.46688654", "67500.01", "1.56637040", 1 * S)
    q1 = quote("67519.99", "0.10000000", "67520.00", "0.25000000", 30_250_000_000)
    b0 = bar(0, 67500.01, 67520.0, 67490.5, 67490.5, 0.175)
    b1 = bar(1, 67510.0, 67510.0, 67510.0, 67510.0, 0.3)
    return Kit(
        name="coinbase",
        make=lambda ws, rest, settings: CoinbaseProvider(ws_url=ws, rest_url=rest,
                                                         settings=settings,
                                                         rng=random.Random(1)),
        reply=coinbase_reply,
        subscriptions=[Subscription("BTC/USD", Channel.BARS, "1m"),
                       Subscription("BTC/USD", Channel.TRADES),
                       Subscription("BTC/USD", Channel.QUOTES)],
        texts=texts("coinbase"),
        stream=["last_match", "heartbeat_0", "match_0", "ticker_0", "match_1", "ticker_1",
                "match_2", "heartbeat_1", "match_3", "heartbeat_2", "match_4"],
        expected=[m0, q0, m1, q1, m2, b0, m3, b1, m4],
        duplicated=["match_1", "ticker_1", "heartbeat_1"],
        late="match_0",
        gap_stream=["last_match", "match_0", "match_1", "match_2", "match_3", "match_4",
                    "heartbeat_gap", "match_6"],
        gap_expected=[m0, m1, m2, b0, m3, b1, m4, m6],
        gap_reason="gap: BTC-USD: trade ids 700000106..700000106 never arrived",
        rest=coinbase_rest,
        # minute 2 had trades 105, 106 (never streamed) and 107
        backfilled=bar(2, 67530.0, 67535.0, 67520.0, 67535.0, 0.013),
    )


@pytest.fixture(params=[binance_kit, coinbase_kit], ids=["binance", "coinbase"])
def kit(request: pytest.FixtureRequest) -> Kit:
    factory: Callable[[], Kit] = request.param
    return factory()


def binance_rest() -> Any:
    exchange = FakeBinance()
    exchange.add_klines("BTCUSDT", "1m", [
        (1717200000000, d("67500.01"), d("67530"), d("67480"), d("67515.5"), d("2.5")),
        (1717200120000, d("67540.25"), d("67545.00"), d("67495.00"), d("67501.00"), d("0.8")),
        (1717200180000, d("67501.00"), d("67550.00"), d("67500.00"), d("67533.33"), d("3"))])
    return exchange.app()


def coinbase_rest() -> Any:
    exchange = FakeCoinbase()
    exchange.add_candles("BTC-USD", 60, [
        (1717200060, d("67510"), d("67510"), d("67510"), d("67510"), d("0.3")),
        (1717200120, d("67530"), d("67535"), d("67520"), d("67535"), d("0.013"))])
    return exchange.app()


def sends(kit: Kit, keys: Sequence[str]) -> list[Step]:
    return [Send(kit.texts[k]) for k in keys]


def normalized(events: Sequence[MarketEvent]) -> list[MarketEvent]:
    """``ts_init`` is our clock at arrival: real, so left out of the comparison (so is
    ``ts_event`` where the source stamps nothing and it is the arrival time)."""
    return [e._replace(ts_event=0, ts_init=0) if isinstance(e, QuoteEvent)
            and e.ts_event == e.ts_init else e._replace(ts_init=0) for e in events]


def without_id(text: str) -> dict[str, object]:
    request: dict[str, object] = json.loads(text)
    request.pop("id", None)
    return request


def transitions(provider: Adapter) -> list[tuple[Health, Health]]:
    return [(c.previous, c.current) for c in provider.health_history]


async def collect(provider: Adapter, count: int, *, delay: float = 0.0,
                  timeout: float = 5.0) -> list[MarketEvent]:
    out: list[MarketEvent] = []
    if count == 0:
        return out
    stream: AsyncIterator[MarketEvent] = provider.stream()
    async with asyncio.timeout(timeout):
        async for event in stream:
            out.append(event)
            if delay:
                await asyncio.sleep(delay)
            if len(out) == count:
                break
    return out


async def session(kit: Kit, scripts: list[list[Step]], count: int, rest_url: str,
                  delay: float = 0.0, settle: float = 0.1,
                  ) -> tuple[Adapter, FakeStreamServer, list[MarketEvent]]:
    """Plays the scripts, collects ``count`` events, waits ``settle`` s for trailing
    messages (which must yield no event) and closes the provider."""
    async with FakeStreamServer(scripts, reply=kit.reply) as server:
        provider = kit.make(server.url, rest_url, SETTINGS)
        for sub in kit.subscriptions:
            await provider.subscribe(sub)
        await provider.connect()
        try:
            events = await collect(provider, count, delay=delay)
            await server.wait_script(len(scripts) - 1)
            await asyncio.sleep(settle)
        finally:
            await provider.close()
        events.extend([e async for e in provider.stream()])
    return provider, server, events


# --- the contract ---------------------------------------------------------------------
def test_events_in_arrival_order_with_their_provider(kit: Kit) -> None:
    script = [AwaitRequest(), *sends(kit, kit.stream)]
    provider, server, events = asyncio.run(
        session(kit, [script], len(kit.expected), "http://127.0.0.1:9"))
    assert normalized(events) == kit.expected
    assert transitions(provider) == [*LIVE, (Health.LIVE, Health.DOWN)]
    assert provider.health_history[-1].reason == "closed"
    assert server.connections == 1 and len(server.received[0]) == 1
    assert provider.stats.events == len(kit.expected)
    assert provider.stats.malformed == provider.stats.duplicates == 0


def test_subscribe_requests_name_every_subscription(kit: Kit) -> None:
    script: list[Step] = [AwaitRequest()]
    _, server, _ = asyncio.run(session(kit, [script], 0, "http://127.0.0.1:9"))
    (request,) = map(json.loads, server.received[0])
    if kit.name == "binance":
        assert server.paths == ["/stream"]
        assert request == {"method": "SUBSCRIBE", "id": 1, "params": [
            "btcusdt@bookTicker", "btcusdt@kline_1m", "btcusdt@trade"]}
    else:
        assert request == {"type": "subscribe", "product_ids": ["BTC-USD"],
                           "channels": ["heartbeat", "matches", "ticker"]}


def test_unsubscribe_asks_the_source_to_stop(kit: Kit) -> None:
    async def unsubscribe() -> list[dict[str, object]]:
        async with FakeStreamServer([[AwaitRequest(), AwaitRequest()]],
                                    reply=kit.reply) as server:
            provider = kit.make(server.url, "http://127.0.0.1:9", SETTINGS)
            for sub in kit.subscriptions:
                await provider.subscribe(sub)
            await provider.connect()
            try:
                await provider.unsubscribe(kit.subscriptions[2])  # the quotes
                await server.wait_script(0)
            finally:
                await provider.close()
            assert provider.subscriptions == kit.subscriptions[:2]
            return [json.loads(m) for m in server.received[0][1:]]

    (request,) = asyncio.run(unsubscribe())
    if kit.name == "binance":
        assert request == {"method": "UNSUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 2}
    else:
        assert request == {"type": "unsubscribe", "product_ids": ["BTC-USD"],
                           "channels": ["ticker"]}


def test_dropped_socket_reconnects_resubscribes_and_resumes(kit: Kit) -> None:
    half = len(kit.stream) // 2
    first = [AwaitRequest(), *sends(kit, kit.stream[:half]), Pause(0.05), Drop()]
    second = [AwaitRequest(), *sends(kit, kit.stream[half:])]
    provider, server, events = asyncio.run(
        session(kit, [first, second], len(kit.expected), "http://127.0.0.1:9"))
    assert normalized(events) == kit.expected
    assert transitions(provider) == [*LIVE, *RECONNECTED, (Health.LIVE, Health.DOWN)]
    assert provider.health_history[2].reason.startswith("disconnected")
    # the same subscriptions again (a Binance request has a new id)
    assert [without_id(m) for m in server.received[1]] == [
        without_id(m) for m in server.received[0]]
    assert provider.stats.reconnects == 1
    # within 1 s plus the backoff (the drop happened 0.05 s after the first half)
    assert server.accepted_at[1] - server.accepted_at[0] < 1.0 + SETTINGS.backoff_cap + 0.5


def test_silent_stream_is_replaced(kit: Kit) -> None:
    half = len(kit.stream) // 2
    first = [AwaitRequest(), *sends(kit, kit.stream[:half]), Pause(0.6)]
    second = [AwaitRequest(), *sends(kit, kit.stream[half:])]
    provider, server, events = asyncio.run(
        session(kit, [first, second], len(kit.expected), "http://127.0.0.1:9"))
    assert normalized(events) == kit.expected
    assert transitions(provider) == [*LIVE, *RECONNECTED, (Health.LIVE, Health.DOWN)]
    assert provider.health_history[2].reason == "no message for 0.3 s"
    assert server.connections == 2


def test_slow_consumer_gets_everything_in_order(kit: Kit) -> None:
    async def slow() -> tuple[Adapter, list[MarketEvent]]:
        script = [AwaitRequest(), *sends(kit, kit.stream)]
        async with FakeStreamServer([script], reply=kit.reply) as server:
            # a tiny buffer: the reader must stop reading while the consumer sleeps
            tiny = dataclasses.replace(SETTINGS, queue_size=2)
            provider = kit.make(server.url, "http://127.0.0.1:9", tiny)
            for sub in kit.subscriptions:
                await provider.subscribe(sub)
            await provider.connect()
            try:
                return provider, await collect(provider, len(kit.expected), delay=0.02)
            finally:
                await provider.close()

    provider, events = asyncio.run(slow())
    assert normalized(events) == kit.expected
    assert transitions(provider) == [*LIVE, (Health.LIVE, Health.DOWN)]


def test_malformed_messages_are_dropped_and_counted(kit: Kit) -> None:
    bad = json.loads(kit.texts[kit.stream[-1]])
    payload = bad.get("data", bad)
    payload.pop("s" if "s" in payload else "product_id")
    garbage = [*MALFORMED, json.dumps(bad)]
    keys = kit.stream
    script = [AwaitRequest(), *sends(kit, keys[:2]), *map(Send, garbage), *sends(kit, keys[2:])]
    provider, _, events = asyncio.run(
        session(kit, [script], len(kit.expected), "http://127.0.0.1:9"))
    assert normalized(events) == kit.expected
    assert provider.stats.malformed == 4
    assert transitions(provider) == [*LIVE, (Health.LIVE, Health.DOWN)]


def test_duplicates_are_dropped_and_counted(kit: Kit) -> None:
    keys = [k for key in kit.stream for k in ([key, key] if key in kit.duplicated else [key])]
    script = [AwaitRequest(), *sends(kit, keys)]
    provider, _, events = asyncio.run(
        session(kit, [script], len(kit.expected), "http://127.0.0.1:9"))
    assert normalized(events) == kit.expected
    assert provider.stats.duplicates == len(kit.duplicated)


def test_out_of_order_messages_are_dropped_and_counted(kit: Kit) -> None:
    script = [AwaitRequest(), *sends(kit, [*kit.stream, kit.late])]
    provider, _, events = asyncio.run(
        session(kit, [script], len(kit.expected), "http://127.0.0.1:9"))
    assert normalized(events) == kit.expected
    assert provider.stats.out_of_order == 1


def test_a_gap_degrades_health_until_data_flows_in_order_again(kit: Kit) -> None:
    script = [AwaitRequest(), *sends(kit, kit.gap_stream)]
    provider, _, events = asyncio.run(
        session(kit, [script], len(kit.gap_expected), "http://127.0.0.1:9"))
    assert normalized(events) == kit.gap_expected
    assert transitions(provider) == [*LIVE, (Health.LIVE, Health.DEGRADED),
                                     (Health.DEGRADED, Health.LIVE),
                                     (Health.LIVE, Health.DOWN)]
    assert provider.health_history[2].reason == kit.gap_reason
    assert provider.stats.gaps == 1


def test_the_bar_a_gap_spoilt_is_backfilled_from_rest(kit: Kit) -> None:
    async def backfill(url: str) -> list[BarEvent]:
        provider = kit.make("ws://127.0.0.1:9", url, SETTINGS)
        opened = kit.backfilled.bar.ts_event
        try:
            series = await provider.request_bars(kit.backfilled.symbol, "1m", opened,
                                                 opened + 60 * S)
        finally:
            await provider.close()
        return [BarEvent(kit.backfilled.symbol, "1m", Bar(
            kit.backfilled.symbol, int(series.ts[i]), float(series.open[i]),
            float(series.high[i]), float(series.low[i]), float(series.close[i]),
            float(series.volume[i])), 0, kit.name) for i in range(len(series))]

    with ServedApp(kit.rest()) as served:
        assert asyncio.run(backfill(served.url)) == [kit.backfilled]


def test_one_binance_connection_refuses_more_than_1024_streams() -> None:
    # (BinanceProvider spreads them over connections: test_binance_shards.py)
    async def subscribe_all() -> None:
        provider = BinanceConnection(ws_url="ws://127.0.0.1:9", rest_url="http://127.0.0.1:9")
        try:
            for i in range(1024):
                await provider.subscribe(Subscription(f"C{i}/USDT", Channel.TRADES))
            await provider.subscribe(Subscription("C0/USDT", Channel.QUOTES))
        finally:
            await provider.close()

    with pytest.raises(ConfigError, match="1024 streams on one connection; 1025 were asked"):
        asyncio.run(subscribe_all())


def test_a_bug_in_our_code_drops_the_message_not_the_session(kit: Kit) -> None:
    async def faulty() -> tuple[Adapter, list[MarketEvent]]:
        script = [AwaitRequest(), *sends(kit, kit.stream)]
        async with FakeStreamServer([script], reply=kit.reply) as server:
            provider = kit.make(server.url, "http://127.0.0.1:9", SETTINGS)
            for sub in kit.subscriptions:
                await provider.subscribe(sub)
            # the connection that decodes (a sharded provider's first shard)
            connection: Any = getattr(provider, "shards", [provider])[0]
            real: Callable[[str | bytes, int], Decoded] = connection._decode
            calls = [0]

            def decode(raw: str | bytes, ts_init: int) -> Decoded:
                calls[0] += 1
                if calls[0] == 1:  # the first message (the ack) meets a bug
                    raise RuntimeError("boom")
                return real(raw, ts_init)

            connection._decode = decode
            await provider.connect()
            try:
                return provider, await collect(provider, len(kit.expected))
            finally:
                await provider.close()

    provider, events = asyncio.run(faulty())
    assert normalized(events) == kit.expected
    assert provider.stats.internal_errors == 1


def test_connect_refused_is_retryable_and_down(kit: Kit) -> None:
    async def refused() -> Adapter:
        provider = kit.make("ws://127.0.0.1:9", "http://127.0.0.1:9", SETTINGS)
        try:
            with pytest.raises(RetryableError, match="cannot connect"):
                await provider.connect()
        finally:
            await provider.close()
        return provider

    provider = asyncio.run(refused())
    assert transitions(provider) == [(Health.DOWN, Health.CONNECTING),
                                     (Health.CONNECTING, Health.DOWN)]
