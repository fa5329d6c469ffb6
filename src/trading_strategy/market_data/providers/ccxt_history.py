"""Bar history and gap backfill from any ccxt exchange's ``fetch_ohlcv``.

``CcxtHistory("binance")`` serves ``request_bars`` for the WebSocket providers (and on its
own). ``rest_url`` replaces the scheme and host of every REST URL the exchange object knows
(a testnet, a proxy, ``trading_strategy.testing_exchange``). Rules:

* pages of ``page_limit`` candles from ``start_ns`` on, each page starting after the last
  candle of the one before, until ``end_ns`` or an empty page;
* only **closed** bars: a candle whose interval has not ended by ``clock_ns()`` is still
  forming and is left out (a backfill must not store a bar that will change);
* ccxt's own throttle paces the requests (``enableRateLimit``, the exchange's documented
  rate); network trouble is a ``RetryableError``, an unknown exchange, symbol or timeframe
  a ``ConfigError``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]
import numpy as np

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.errors import ConfigError, RetryableError
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.market_data.providers.connection import BarHistory

_HOST = re.compile(r"^https?://[^/]+")
_MS = 1_000_000


def _rewrite(urls: Any, base: str) -> Any:
    if isinstance(urls, str):
        return _HOST.sub(base, urls)
    if isinstance(urls, dict):
        return {k: _rewrite(v, base) for k, v in urls.items()}
    return urls


def ccxt_timeframe(timeframe: str) -> str:
    tf = Timeframe.parse(timeframe)
    return f"{tf.count}M" if tf.is_monthly else str(tf)


class CcxtHistory(BarHistory):
    def __init__(self, exchange: str, *, rest_url: str | None = None, page_limit: int = 1000,
                 enable_rate_limit: bool = True, options: dict[str, Any] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns, timeout_ms: int = 10_000) -> None:
        factory = getattr(ccxt_async, exchange, None)
        if exchange not in ccxt_async.exchanges or factory is None:
            raise ConfigError(f"unknown ccxt exchange {exchange!r}")
        self.exchange = exchange
        self._ex: Any = factory({"enableRateLimit": enable_rate_limit, "timeout": timeout_ms,
                                 "options": dict(options or {})})
        if rest_url is not None:
            self._ex.urls["api"] = _rewrite(self._ex.urls["api"], rest_url.rstrip("/"))
        self._page_limit = page_limit
        self._clock_ns = clock_ns

    async def request_bars(self, symbol: str, timeframe: str, start_ns: int,
                           end_ns: int) -> BarSeries:
        tf = Timeframe.parse(timeframe)
        rows: dict[int, list[float]] = {}
        closed_before = self._clock_ns() - tf.nanoseconds
        since = -(-start_ns // _MS)
        while since * _MS < end_ns:
            page = await self._page(symbol, ccxt_timeframe(timeframe), since)
            page = [r for r in page if r[0] >= since]
            if not page:
                break
            for r in page:
                ts = int(r[0]) * _MS
                if ts < end_ns and ts <= closed_before:
                    rows[ts] = [float(x) for x in r[1:6]]
            since = int(page[-1][0]) + 1
        ts_sorted = sorted(rows)
        columns = np.array([rows[t] for t in ts_sorted], dtype=np.float64).reshape(-1, 5)
        return BarSeries(self._instrument(symbol), tf, np.array(ts_sorted, dtype=np.int64),
                         *(np.ascontiguousarray(columns[:, i]) for i in range(5)))

    async def _page(self, symbol: str, timeframe: str, since_ms: int) -> list[list[Any]]:
        try:
            return list(await self._ex.fetch_ohlcv(symbol, timeframe, since_ms,
                                                   self._page_limit))
        except ccxt_async.BadSymbol as exc:
            raise ConfigError(f"{self.exchange} has no symbol {symbol!r}: {exc}") from None
        except ccxt_async.NotSupported as exc:
            raise ConfigError(f"{self.exchange}: {exc}") from None
        except (ccxt_async.NetworkError, ccxt_async.ExchangeNotAvailable) as exc:
            raise RetryableError(f"{self.exchange} history unavailable: {exc}") from None
        except ccxt_async.ExchangeError as exc:
            raise RetryableError(f"{self.exchange} refused a history request: {exc}") \
                from None

    def _instrument(self, symbol: str) -> Instrument:
        tick = Decimal("0.00000001")
        market = (self._ex.markets or {}).get(symbol)
        price = market and market.get("precision", {}).get("price")
        if price is not None:
            tick = (Decimal(str(price)) if self._ex.precisionMode == ccxt_async.TICK_SIZE
                    else Decimal(1).scaleb(-int(price)))
        return Instrument(symbol, tick_size=tick, lot_size=Decimal("0.00000001"),
                          venue=self.exchange, asset_class=AssetClass.CRYPTO,
                          currency=symbol.rsplit("/", 1)[-1], calendar=Calendar.ALWAYS)

    async def close(self) -> None:
        await self._ex.close()
