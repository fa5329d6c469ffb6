"""``LiveData`` against the fake exchange's scripted WebSocket servers on 127.0.0.1: what a
session's feed loop sees when the primary stream goes silent, the instrument goes stale,
the standby takes over, and the primary earns the instrument back."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest

from trading_strategy.core.errors import ConfigError
from trading_strategy.market_data.feed_runner import FeedItem
from trading_strategy.market_data.health_events import DataRestored, DataStale, ProviderSwitch
from trading_strategy.market_data.providers.base import BarEvent, HealthChange, LiveProvider
from trading_strategy.market_data.providers.binance import BinanceProvider
from trading_strategy.market_data.providers.coinbase import CoinbaseProvider
from trading_strategy.market_data.providers.connection import ConnectionSettings
from trading_strategy.runtime.live_data import (
    HealthRouter,
    LiveData,
    build_feeds,
    make_provider,
    warm_until,
)
from trading_strategy.runtime.portfolio_config import DataSection, ProviderEndpoints
from trading_strategy.testing_exchange import (
    AwaitRequest,
    FakeStreamServer,
    Pause,
    Send,
    Step,
    binance_reply,
)

MINUTE_MS = 60_000
T0_MS = 1717200000000
S = 1_000_000_000
#: silence counts only through the feed: the connection itself never times out here
SETTINGS = ConnectionSettings(backoff_base=0.01, backoff_cap=0.05, silence_timeout=30.0,
                              ping_interval=None, open_timeout=2.0,
                              max_messages_per_second=50)


def kline(minute: int, close: str = "100") -> str:
    t = T0_MS + minute * MINUTE_MS
    return json.dumps({"stream": "btcusdt@kline_1m", "data": {
        "e": "kline", "E": t + MINUTE_MS, "s": "BTCUSDT", "k": {
            "t": t, "T": t + MINUTE_MS - 1, "s": "BTCUSDT", "i": "1m", "f": 1, "L": 2,
            "o": "100", "c": close, "h": "101", "l": "99", "v": "1", "n": 2, "x": True,
            "q": "100", "V": "0", "Q": "0", "B": "0"}}})


def section(**default: object) -> DataSection:
    # 1m bars: 0.005 intervals = 0.3 s of silence, 0.01 = 0.6 s
    return DataSection.model_validate({"default": {
        "providers": ["binance", "coinbase"], "timeframe": "1m", "stale_after": 0.005,
        "failover_after": 0.005, "switch_back_after": 0.01, **default}})


def binance_shaped(urls: dict[str, str]) -> Callable[..., LiveProvider]:
    """Both providers speak Binance's wire (one fake server each), under the section's
    names: the test is about the feed's decisions, not about a second wire format."""

    def factory(name: str, endpoints: ProviderEndpoints, settings: ConnectionSettings | None,
                on_health: Callable[[HealthChange], None]) -> LiveProvider:
        return BinanceProvider(ws_url=urls[name], rest_url="http://127.0.0.1:9", name=name,
                               settings=settings, on_health=on_health,
                               rng=random.Random(1))

    return factory


def seen(item: FeedItem) -> tuple[object, ...]:
    event = item.event
    if isinstance(event, BarEvent):
        minute = (event.bar.ts_event // 1_000_000 - T0_MS) // MINUTE_MS
        return ("bar", minute, event.provider, item.backfilled)
    if isinstance(event, DataStale):
        return ("stale", event.symbol, event.provider)
    if isinstance(event, DataRestored):
        return ("restored", event.symbol, event.provider)
    if isinstance(event, ProviderSwitch):
        return ("switch", event.from_provider, event.to_provider)
    return ("other", event)


async def consume(live: LiveData, until: Callable[[list[tuple[object, ...]]], bool],
                  timeout: float = 8.0) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    try:
        async with asyncio.timeout(timeout):
            async for item in live.items():
                out.append(seen(item))
                if until(out):
                    break
    except TimeoutError:
        out.append(("timeout",))
    return out


def test_silence_stale_failover_and_switch_back() -> None:
    def every(seconds: float, minutes: range) -> list[Send | Pause]:
        return [step for m in minutes for step in (Pause(seconds), Send(kline(m)))]

    # seconds: the standby sends minutes 0 and 1 at once, the primary 0.15 s later (so when
    # the primary has been silent too long, the standby has been too: stale, not a switch);
    # after 0.9 s the standby sends a minute every 0.15 s (2 at 0.9, 3 at 1.05 ...); the
    # primary rejoins at minute 5 (1.35 s)
    primary = [AwaitRequest(), Pause(0.15), Send(kline(0)), Send(kline(1)), Pause(1.05),
               *every(0.15, range(5, 16))]
    standby = [AwaitRequest(), Send(kline(0)), Send(kline(1)), Pause(0.75),
               *every(0.15, range(2, 16))]

    async def run() -> list[tuple[object, ...]]:
        async with FakeStreamServer([primary], reply=binance_reply) as a, \
                FakeStreamServer([standby], reply=binance_reply) as b:
            live = LiveData(section(), {"BTC/USDT": None}, settings=SETTINGS,
                            provider_factory=binance_shaped({"binance": a.url,
                                                             "coinbase": b.url}),
                            watch_every_s=0.02)
            async with live:
                return await consume(live, lambda out: ("bar", 15, "binance", False) in out
                                     or len(out) > 30)

    got = asyncio.run(run())
    assert got[:8] == [
        ("bar", 0, "binance", False),
        ("bar", 1, "binance", False),
        # both silent: nobody to fail over to
        ("stale", "BTC/USDT", "binance"),
        # the standby speaks first: it takes over, and the instrument is trusted again
        ("switch", "binance", "coinbase"),
        ("restored", "BTC/USDT", "coinbase"),
        ("bar", 2, "coinbase", False),
        ("bar", 3, "coinbase", False),
        ("bar", 4, "coinbase", False),
    ], got
    # the primary, fresh again for switch_back_after, gets the instrument back (which bar
    # is the seam depends on the sockets' timing); no bar twice or skipped at the seam
    back = got.index(("switch", "coinbase", "binance"))
    assert all(item[0] == "bar" and item[2] == "coinbase" for item in got[8:back]), got
    assert all(item[0] == "bar" and item[2] == "binance" for item in got[back + 1:]), got
    assert [item[1] for item in got if item[0] == "bar"] == list(range(16)), got


def test_health_router_tells_risk_first_then_strategies_and_records() -> None:
    calls: list[tuple[str, ...]] = []

    class Risk:
        def set_data_stale(self, symbol: str, stale: bool) -> None:
            calls.append(("risk", symbol, str(stale)))

    router = HealthRouter(
        risk=Risk(),
        strategies={"BTC/USDT": [lambda s, st: calls.append(("a", s, str(st))),
                                 lambda s, st: calls.append(("b", s, str(st)))],
                    "ETH/USDT": [lambda s, st: calls.append(("eth", s, str(st)))]},
        record=lambda kind, data: calls.append(("record", kind, str(data["symbol"]))),
        count=lambda kind, symbol: calls.append(("count", kind, symbol)))
    router(DataStale("BTC/USDT", "binance", "silent", 1, 2))
    router(ProviderSwitch("BTC/USDT", "binance", "coinbase", "silent", 3))
    router(DataRestored("BTC/USDT", "coinbase", 5, 6))
    assert calls == [
        ("risk", "BTC/USDT", "True"), ("a", "BTC/USDT", "True"), ("b", "BTC/USDT", "True"),
        ("record", "data_stale", "BTC/USDT"), ("count", "data_stale", "BTC/USDT"),
        ("record", "provider_switch", "BTC/USDT"), ("count", "provider_switch", "BTC/USDT"),
        ("risk", "BTC/USDT", "False"), ("a", "BTC/USDT", "False"),
        ("b", "BTC/USDT", "False"),
        ("record", "data_restored", "BTC/USDT"), ("count", "data_restored", "BTC/USDT")]


def test_feeds_from_the_section_per_instrument_over_the_default() -> None:
    data = DataSection.model_validate({
        "default": {"providers": ["binance", "coinbase"], "stale_after": 2},
        "instruments": {"ETH/USDT": {"providers": ["coinbase"], "timeframe": "5m",
                                     "switch_back_after": 9}}})
    btc, eth = build_feeds(data, {"BTC/USDT": "1m", "ETH/USDT": None})
    assert (btc.symbol, btc.providers, btc.timeframe, btc.stale_after) == (
        "BTC/USDT", ("binance", "coinbase"), "1m", 2)
    assert (eth.providers, eth.timeframe, eth.stale_after, eth.switch_back_after) == (
        ("coinbase",), "5m", 2, 9)


def test_providers_built_from_their_names_and_endpoints() -> None:
    def ignore(change: HealthChange) -> None:
        del change

    binance = make_provider("binance", ProviderEndpoints(ws_url="ws://127.0.0.1:1",
                                                         rest_url="http://127.0.0.1:2"),
                            SETTINGS, ignore)
    coinbase = make_provider("coinbase", ProviderEndpoints(), None, ignore)
    assert isinstance(binance, BinanceProvider)
    assert (binance.ws_url, binance.rest_url) == ("ws://127.0.0.1:1", "http://127.0.0.1:2")
    assert isinstance(coinbase, CoinbaseProvider)
    assert coinbase.ws_url == "wss://ws-feed.exchange.coinbase.com"


def test_a_feed_setting_the_feed_refuses_is_a_config_error() -> None:
    data = DataSection.model_validate({"default": {"providers": ["binance"]}})
    with pytest.raises(ConfigError, match="nothing to deliver"):
        build_feeds(data, {"BTC/USDT": None})
    assert Decimal(1)  # keeps the Decimal import honest for the money-typed helpers


def test_history_then_live_continues_where_history_ended() -> None:
    from trading_strategy.core.bars import Bar

    def stored(minute: int) -> BarEvent:
        ts = (T0_MS + minute * MINUTE_MS) * 1_000_000
        return BarEvent("BTC/USDT", "1m", Bar("BTC/USDT", ts, 100, 101, 99, 100, 1), 0, "")

    async def history() -> AsyncIterator[BarEvent]:
        for minute in (0, 1):
            yield stored(minute)

    script: list[Step] = [AwaitRequest(), Send(kline(1)), Send(kline(2)), Send(kline(3))]
    health: list[object] = []

    async def run() -> list[tuple[object, ...]]:
        async with FakeStreamServer([script], reply=binance_reply) as server:
            live = LiveData(section(providers=["binance"]), {"BTC/USDT": None},
                            settings=SETTINGS, watch_every_s=0.02,
                            provider_factory=binance_shaped({"binance": server.url}))
            out = []
            stream = live.after(history(), health.append)
            async for event in stream:
                out.append(seen(FeedItem(event)))
                if len(out) == 4:
                    break
            await stream.aclose()  # what a cancelled session does: the providers close
            assert live.feed is not None and live.feed._closed
            return out

    # minute 1 arrives live too: already in the history, dropped at the seam
    assert asyncio.run(run()) == [("bar", 0, "", False), ("bar", 1, "", False),
                                  ("bar", 2, "binance", False), ("bar", 3, "binance", False)]
    assert health == []


def test_stored_history_is_warm_up_for_a_live_session() -> None:
    from trading_strategy.market_data.files import load_bars

    goog = load_bars("GOOG").bars
    assert warm_until({"GOOG": 5, "MSFT": 7}, {"GOOG": goog}) == {
        "GOOG": int(goog.ts[-1]), "MSFT": 7}
