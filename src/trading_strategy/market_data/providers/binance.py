"""``BinanceProvider``: Binance spot public streams (kline, trade, bookTicker), keyless.

It connects to the combined-stream endpoint ``{ws_url}/stream`` and subscribes with
``SUBSCRIBE`` requests, so every payload arrives in a ``{"stream", "data"}`` envelope and
subscriptions change without reconnecting. Binance's documented limits are kept: at most
5 outgoing messages a second on a connection (its rate limiter) and 1,024 streams on one
connection: ``BinanceConnection`` is one connection and refuses a 1,025th stream with a
``ConfigError``; ``BinanceProvider``, what the feed uses, spreads any number of streams over
as many connections as they need (``shards.ShardedProvider``: each connection reconnects,
resubscribes and paces its requests on its own; one stream and one health for the feed).
Binance also limits new connections to 300 per 5 minutes per IP: a few shards stay far
below it. Binance pings every 20 s and closes a connection after 24 h; both are ordinary
here (pongs are automatic, a close reconnects). History and backfill go through ccxt
(``CcxtHistory("binance")``) at ``rest_url``. Connection discipline and health:
``connection``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence

from trading_strategy.core.errors import ConfigError
from trading_strategy.market_data.providers import binance_wire as wire
from trading_strategy.market_data.providers._wire import Decoded
from trading_strategy.market_data.providers.base import HealthChange, MarketEvent, Subscription
from trading_strategy.market_data.providers.ccxt_history import CcxtHistory
from trading_strategy.market_data.providers.connection import (
    BarHistory,
    ConnectionSettings,
    WebSocketProvider,
)
from trading_strategy.market_data.providers.shards import NoHistory, ShardedProvider

WS_URL = "wss://stream.binance.com:9443"
REST_URL = "https://api.binance.com"
MAX_STREAMS = 1024
#: streams named in one SUBSCRIBE request (keeps each request small)
_STREAMS_PER_REQUEST = 200
_CCXT_OPTIONS = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                 "fetchMargins": False, "defaultType": "spot"}


class BinanceProvider(ShardedProvider):
    """Binance spot public streams, any number of them (``max_streams`` a connection)."""

    def __init__(self, *, ws_url: str = WS_URL, rest_url: str = REST_URL,
                 name: str = "binance", settings: ConnectionSettings | None = None,
                 history: BarHistory | None = None, rng: random.Random | None = None,
                 on_health: Callable[[HealthChange], None] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns,
                 max_streams: int = MAX_STREAMS) -> None:
        if not 1 <= max_streams <= MAX_STREAMS:
            raise ValueError(f"max_streams must be 1..{MAX_STREAMS}, got {max_streams}")
        history = history or CcxtHistory("binance", rest_url=rest_url, options=_CCXT_OPTIONS,
                                         clock_ns=clock_ns)
        super().__init__(name=name, capacity=max_streams, history=history, settings=settings,
                         on_health=on_health, clock_ns=clock_ns)
        self.ws_url = ws_url
        self.rest_url = rest_url
        self._rng = rng

    def _make_shard(self, events: asyncio.Queue[MarketEvent | None],
                    on_health: Callable[[HealthChange], None]) -> BinanceConnection:
        return BinanceConnection(ws_url=self.ws_url, rest_url=self.rest_url, name=self.name,
                                 settings=self.settings, history=NoHistory(), rng=self._rng,
                                 on_health=on_health, clock_ns=self._clock_ns, events=events)

    def _stream_of(self, subscription: Subscription) -> str:
        return wire.stream_name(subscription)


class BinanceConnection(WebSocketProvider):
    """One connection to Binance's combined streams (at most ``MAX_STREAMS``)."""

    def __init__(self, *, ws_url: str = WS_URL, rest_url: str = REST_URL,
                 name: str = "binance", settings: ConnectionSettings | None = None,
                 history: BarHistory | None = None, rng: random.Random | None = None,
                 on_health: Callable[[HealthChange], None] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns,
                 events: asyncio.Queue[MarketEvent | None] | None = None) -> None:
        history = history or CcxtHistory("binance", rest_url=rest_url, options=_CCXT_OPTIONS,
                                         clock_ns=clock_ns)
        super().__init__(name=name, ws_url=ws_url, history=history, settings=settings, rng=rng,
                         on_health=on_health, clock_ns=clock_ns, events=events)
        self.rest_url = rest_url
        self._decoder = wire.BinanceDecoder(name)
        self._request_id = 0

    def _url(self) -> str:
        return f"{self.ws_url.rstrip('/')}/stream"

    def _check(self, subscriptions: Sequence[Subscription]) -> None:
        streams = {wire.stream_name(s) for s in subscriptions}
        if len(streams) > MAX_STREAMS:
            raise ConfigError(f"binance allows {MAX_STREAMS} streams on one connection; "
                              f"{len(streams)} were asked (BinanceProvider spreads them over "
                              "several connections)")

    def _requests(self, method: str, streams: list[str]) -> list[str]:
        out = []
        for i in range(0, len(streams), _STREAMS_PER_REQUEST):
            self._request_id += 1
            out.append(wire.request(method, streams[i:i + _STREAMS_PER_REQUEST],
                                    self._request_id))
        return out

    def _added(self, subscription: Subscription) -> None:
        self._decoder.add_symbol(subscription.symbol)

    def _subscribe_messages(self, added: Sequence[Subscription]) -> list[str]:
        return self._requests("SUBSCRIBE", sorted({wire.stream_name(s) for s in added}))

    def _unsubscribe_messages(self, removed: Subscription) -> list[str]:
        return self._requests("UNSUBSCRIBE", [wire.stream_name(removed)])

    def _decode(self, raw: str | bytes, ts_init: int) -> Decoded:
        return self._decoder.decode(raw, ts_init)
