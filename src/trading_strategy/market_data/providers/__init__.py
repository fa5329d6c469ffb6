"""Market data providers behind one contract (``base``).

=====================  ==============================================================
``ReplayProvider``     stored or file bars pushed as if live (``replay``)
``BinanceProvider``    Binance spot public streams: kline, trade, bookTicker (``binance``),
                       any number of streams over as many connections as they need
``CoinbaseProvider``   Coinbase Exchange public feed: ticker, matches → bars (``coinbase``)
``CcxtHistory``        ``request_bars`` from any ccxt exchange's ``fetch_ohlcv``
``ConnectionSettings`` backoff, silence timeout, pings, rate limit, buffer (``connection``)
``ShardedProvider``    one provider over several capped connections (``shards``)
=====================  ==============================================================

The live adapters import ccxt and websockets, so they load on first use: importing the
contract costs nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from trading_strategy.market_data.providers.base import (
    BarEvent,
    Channel,
    Health,
    HealthChange,
    LiveProvider,
    MarketDataProvider,
    MarketEvent,
    QuoteEvent,
    Subscription,
    TradeEvent,
)

if TYPE_CHECKING:
    from trading_strategy.market_data.providers.binance import BinanceProvider
    from trading_strategy.market_data.providers.ccxt_history import CcxtHistory
    from trading_strategy.market_data.providers.coinbase import CoinbaseProvider
    from trading_strategy.market_data.providers.connection import ConnectionSettings
    from trading_strategy.market_data.providers.shards import ShardedProvider

_LAZY = {"BinanceProvider": "binance", "CoinbaseProvider": "coinbase",
         "CcxtHistory": "ccxt_history", "ConnectionSettings": "connection",
         "ShardedProvider": "shards"}

__all__ = ["BarEvent", "BinanceProvider", "CcxtHistory", "Channel", "CoinbaseProvider",
           "ConnectionSettings", "Health", "HealthChange", "LiveProvider",
           "MarketDataProvider", "MarketEvent", "QuoteEvent", "ShardedProvider", "Subscription",
           "TradeEvent"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
