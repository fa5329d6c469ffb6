"""``BinanceProvider``: Binance spot public streams (kline, trade, bookTicker), keyless.

It connects to the combined-stream endpoint ``{ws_url}/stream`` and subscribes with
``SUBSCRIBE`` requests, so every payload arrives in a ``{"stream", "data"}`` envelope and
subscriptions change without reconnecting. Binance's documented limits are kept: at most
5 outgoing messages a second (the connection's rate limiter) and 1024 streams on one
connection (a 1025th subscription is refused with a ``ConfigError``). Binance pings every
20 s and closes a connection after 24 h; both are ordinary here (pongs are automatic, a
close reconnects). History and backfill go through ccxt (``CcxtHistory("binance")``) at
``rest_url``. Connection discipline and health: ``connection``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from trading_strategy.core.errors import ConfigError
from trading_strategy.market_data.providers import binance_wire as wire
from trading_strategy.market_data.providers._wire import Decoded
from trading_strategy.market_data.providers.base import HealthChange, Subscription
from trading_strategy.market_data.providers.ccxt_history import CcxtHistory
from trading_strategy.market_data.providers.connection import (
    BarHistory,
    ConnectionSettings,
    WebSocketProvider,
)

WS_URL = "wss://stream.binance.com:9443"
REST_URL = "https://api.binance.com"
MAX_STREAMS = 1024
#: streams named in one SUBSCRIBE request (keeps each request small)
_STREAMS_PER_REQUEST = 200
_CCXT_OPTIONS = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                 "fetchMargins": False, "defaultType": "spot"}


class BinanceProvider(WebSocketProvider):
    def __init__(self, *, ws_url: str = WS_URL, rest_url: str = REST_URL,
                 name: str = "binance", settings: ConnectionSettings | None = None,
                 history: BarHistory | None = None, rng: random.Random | None = None,
                 on_health: Callable[[HealthChange], None] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        history = history or CcxtHistory("binance", rest_url=rest_url, options=_CCXT_OPTIONS,
                                         clock_ns=clock_ns)
        super().__init__(name=name, ws_url=ws_url, history=history, settings=settings, rng=rng,
                         on_health=on_health, clock_ns=clock_ns)
        self.rest_url = rest_url
        self._decoder = wire.BinanceDecoder(name)
        self._request_id = 0

    def _url(self) -> str:
        return f"{self.ws_url.rstrip('/')}/stream"

    def _check(self, subscriptions: Sequence[Subscription]) -> None:
        streams = {wire.stream_name(s) for s in subscriptions}
        if len(streams) > MAX_STREAMS:
            raise ConfigError(f"binance allows {MAX_STREAMS} streams on one connection; "
                              f"{len(streams)} were asked: use a second provider")

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
