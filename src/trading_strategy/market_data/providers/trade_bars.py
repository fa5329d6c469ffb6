"""Bars built from trades, closed on the timeframe boundary by the source's clock.

A bar covers ``[open, open + timeframe)`` where ``open`` is a multiple of the timeframe
since the epoch (UTC). It closes when the source's clock passes its end: a trade stamped in
a later interval, or a clock tick from the source (``on_clock``: e.g. a Coinbase heartbeat's
``time``), never our own wall clock, so a late connection cannot cut a bar short.

**An interval without trades makes no bar.** A flat bar at the last price with volume 0
would be a price nobody traded at; a missing bar is visible: the feed's staleness watchdog
sees the silence, and a bar store backfill can fill the interval from the exchange's own
candles. Trades stamped before the bar being built (late, out of order) are dropped and
counted in ``late``.
"""

from __future__ import annotations

from decimal import Decimal

from trading_strategy.core.bars import Bar
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.market_data.providers.base import BarEvent, TradeEvent


class TradeBarBuilder:
    def __init__(self, symbol: str, timeframe: str, provider: str) -> None:
        tf = Timeframe.parse(timeframe)
        if tf.is_monthly:
            raise ConfigError(f"bars built from trades need a fixed length: {timeframe!r} "
                              "is calendar months")
        self.symbol, self.timeframe, self.provider = symbol, timeframe, provider
        self._length = tf.nanoseconds
        self._open: int | None = None
        self._ohlcv: list[Decimal] = []
        #: the end of the last closed bar: a trade before it is late
        self._closed_until = 0
        self.late = 0

    def on_trade(self, trade: TradeEvent, ts_init: int) -> list[BarEvent]:
        """Add a trade; returns the bar it closed (its interval is over), if any."""
        closed = self.on_clock(trade.ts_event, ts_init)
        bucket = trade.ts_event - trade.ts_event % self._length
        if bucket < (self._open if self._open is not None else self._closed_until):
            self.late += 1
            return closed
        if self._open is None:
            self._open = bucket
            self._ohlcv = [trade.price, trade.price, trade.price, trade.price, trade.size]
        else:
            o, h, low, _, v = self._ohlcv
            self._ohlcv = [o, max(h, trade.price), min(low, trade.price), trade.price,
                           v + trade.size]
        return closed

    def on_clock(self, source_ts: int, ts_init: int) -> list[BarEvent]:
        """The source's clock reads ``source_ts``: the bar closes if its interval is over."""
        if self._open is None or source_ts < self._open + self._length:
            return []
        o, h, low, c, v = (float(x) for x in self._ohlcv)
        bar = Bar(self.symbol, self._open, o, h, low, c, v)
        self._closed_until = self._open + self._length
        self._open = None
        return [BarEvent(self.symbol, self.timeframe, bar, ts_init, self.provider)]
