"""``CoinbaseProvider``: Coinbase Exchange's public WebSocket feed (ticker, matches), keyless.

Quotes come from the ``ticker`` channel, trades from ``matches``; bars are built from the
matches by ``TradeBarBuilder`` and close on the source's clock (a later match or a
heartbeat's time; an interval without trades makes no bar). Every product is also on the
``heartbeat`` channel: it ticks each second, so ``silence_timeout`` can be short, and its
``last_trade_id`` reveals lost matches (a gap → DEGRADED, see ``coinbase_wire``).
History and backfill: ccxt's ``coinbaseexchange`` at ``rest_url``. Connection discipline
and health: ``connection``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from trading_strategy.market_data.providers import coinbase_wire as wire
from trading_strategy.market_data.providers._wire import Decoded
from trading_strategy.market_data.providers.base import (
    Channel,
    HealthChange,
    MarketEvent,
    QuoteEvent,
    Subscription,
    TradeEvent,
)
from trading_strategy.market_data.providers.ccxt_history import CcxtHistory
from trading_strategy.market_data.providers.connection import (
    BarHistory,
    ConnectionSettings,
    WebSocketProvider,
)
from trading_strategy.market_data.providers.trade_bars import TradeBarBuilder

WS_URL = "wss://ws-feed.exchange.coinbase.com"
REST_URL = "https://api.exchange.coinbase.com"
#: heartbeats tick every second: five silent seconds mean a dead connection
SETTINGS = ConnectionSettings(silence_timeout=5.0)


class CoinbaseProvider(WebSocketProvider):
    def __init__(self, *, ws_url: str = WS_URL, rest_url: str = REST_URL,
                 name: str = "coinbase", settings: ConnectionSettings | None = None,
                 history: BarHistory | None = None, rng: random.Random | None = None,
                 on_health: Callable[[HealthChange], None] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        history = history or CcxtHistory("coinbaseexchange", rest_url=rest_url,
                                         clock_ns=clock_ns)
        super().__init__(name=name, ws_url=ws_url, history=history,
                         settings=settings or SETTINGS, rng=rng, on_health=on_health,
                         clock_ns=clock_ns)
        self.rest_url = rest_url
        self._decoder = wire.CoinbaseDecoder(name)
        #: product id → bar builders of its bar subscriptions
        self._builders: dict[str, list[TradeBarBuilder]] = {}

    def _channels(self, product: str) -> set[str]:
        return {wire.CHANNELS[s.channel] for s in self._subs
                if wire.product_id(s.symbol) == product}

    def _added(self, subscription: Subscription) -> None:
        self._decoder.add_symbol(subscription.symbol)
        if subscription.channel is Channel.BARS and subscription.timeframe is not None:
            self._builders.setdefault(wire.product_id(subscription.symbol), []).append(
                TradeBarBuilder(subscription.symbol, subscription.timeframe, self.name))

    def _removed(self, subscription: Subscription) -> None:
        if subscription.channel is Channel.BARS:
            product = wire.product_id(subscription.symbol)
            self._builders[product] = [b for b in self._builders.get(product, [])
                                       if b.timeframe != subscription.timeframe]

    def _subscribe_messages(self, added: Sequence[Subscription]) -> list[str]:
        by_product: dict[str, set[str]] = {}
        for s in added:
            by_product.setdefault(wire.product_id(s.symbol), {wire.HEARTBEAT}).add(
                wire.CHANNELS[s.channel])
        return [wire.request("subscribe", [p], c) for p, c in sorted(by_product.items())]

    def _unsubscribe_messages(self, removed: Subscription) -> list[str]:
        product = wire.product_id(removed.symbol)
        still = self._channels(product)
        gone = {wire.CHANNELS[removed.channel]} - still
        if not still:
            gone.add(wire.HEARTBEAT)
        return [wire.request("unsubscribe", [product], gone)] if gone else []

    def _check(self, subscriptions: Sequence[Subscription]) -> None:
        for s in subscriptions:  # a bad timeframe fails here, before anything is sent
            if s.channel is Channel.BARS:
                TradeBarBuilder(s.symbol, s.timeframe or "", self.name)

    def _decode(self, raw: str | bytes, ts_init: int) -> Decoded:
        return self._decoder.decode(raw, ts_init)

    def _route(self, decoded: Decoded, ts_init: int) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for event in decoded.events:
            wanted = Subscription(event.symbol, Channel.QUOTES if isinstance(event, QuoteEvent)
                                  else Channel.TRADES)
            if isinstance(event, TradeEvent):
                for builder in self._builders.get(wire.product_id(event.symbol), []):
                    out.extend(builder.on_trade(event, ts_init))
            if wanted in self._subs:
                out.append(event)
        if decoded.source_ts is not None and not decoded.events:
            for builders in self._builders.values():
                for builder in builders:
                    out.extend(builder.on_clock(decoded.source_ts, ts_init))
        return out
