"""Binance spot public streams on the wire: pure parsing and request builders.

Documented shapes (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams):

* ``<symbol>@kline_<interval>`` → a ``BarEvent`` only when the kline is closed (``k.x``);
  ``bar.ts_event`` is the kline's open time ``k.t``. Open klines are updates of a bar that
  is still forming and are not events.
* ``<symbol>@trade`` → a ``TradeEvent``; ``t`` is the trade id, ``T`` the trade time and
  ``m`` (the buyer is the maker) makes the aggressor the seller.
* ``<symbol>@bookTicker`` → a ``QuoteEvent``. Spot book tickers carry no event time, so
  ``ts_event`` is the arrival time; their update id ``u`` orders them.
* A combined-stream envelope ``{"stream": ..., "data": {...}}`` wraps any of them.
* ``{"result": null, "id": n}`` acknowledges a request; ``{"error": {...}, "id": n}`` or
  ``{"code": c, "msg": m}`` refuses one.

Ordering: per symbol and stream, trade ids, kline open times and book-ticker update ids
must advance; anything else is a duplicate or out-of-order message (dropped and counted).
Trade ids are contiguous per symbol and closed klines follow each other interval by
interval, so a jump in either is a gap (reported: health degrades, the feed backfills).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import Side
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.market_data.providers import _wire as w
from trading_strategy.market_data.providers._wire import Decoded, WireError, WireErrorKind
from trading_strategy.market_data.providers.base import (
    BarEvent,
    Channel,
    QuoteEvent,
    Subscription,
    TradeEvent,
)

#: our timeframe → Binance's kline interval
INTERVALS = {"1s": "1s", "1m": "1m", "3m": "3m", "5m": "5m", "15m": "15m", "30m": "30m",
             "1h": "1h", "2h": "2h", "4h": "4h", "6h": "6h", "8h": "8h", "12h": "12h",
             "1d": "1d", "3d": "3d", "1w": "1w", "1mo": "1M"}
_TIMEFRAMES = {v: k for k, v in INTERVALS.items()}
#: fixed-length intervals in ms (months have none: no gap check for them)
_INTERVAL_MS = {v: Timeframe.parse(k).nanoseconds // 1_000_000 for k, v in INTERVALS.items()
                if k != "1mo"}


def wire_symbol(symbol: str) -> str:
    """``BTC/USDT`` → ``btcusdt`` (stream names are lower case)."""
    return symbol.replace("/", "").replace("-", "").lower()


def stream_name(subscription: Subscription) -> str:
    sym = wire_symbol(subscription.symbol)
    if subscription.channel is Channel.BARS:
        interval = INTERVALS.get(subscription.timeframe or "")
        if interval is None:
            raise ConfigError(f"binance has no {subscription.timeframe!r} klines: use one of "
                              f"{', '.join(INTERVALS)}")
        return f"{sym}@kline_{interval}"
    return f"{sym}@trade" if subscription.channel is Channel.TRADES else f"{sym}@bookTicker"


def request(method: str, streams: Iterable[str], request_id: int) -> str:
    """A ``SUBSCRIBE``/``UNSUBSCRIBE`` request (one message may name many streams)."""
    return json.dumps({"method": method, "params": list(streams), "id": request_id})


class BinanceDecoder:
    """Turns Binance stream messages into events; keeps the ordering state per stream."""

    def __init__(self, provider: str, symbols: Mapping[str, str] | None = None) -> None:
        self.provider = provider
        #: upper-case wire symbol → our symbol (``BTCUSDT`` → ``BTC/USDT``)
        self.symbols: dict[str, str] = dict(symbols or {})
        self._last: dict[tuple[str, str], int] = {}

    def add_symbol(self, symbol: str) -> None:
        self.symbols[wire_symbol(symbol).upper()] = symbol

    def decode(self, raw: str | bytes, ts_init: int) -> Decoded:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            msg = json.loads(text)
        except ValueError as exc:
            return Decoded(error=WireError.of(WireErrorKind.MALFORMED, f"not JSON: {exc}", text))
        try:
            return self._decode(msg, ts_init, text)
        except w.BadMessage as exc:
            return Decoded(error=WireError.of(WireErrorKind.MALFORMED, str(exc), text))

    def _decode(self, msg: Any, ts_init: int, text: str) -> Decoded:
        if not isinstance(msg, dict):
            raise w.BadMessage("a message must be a JSON object")
        if "stream" in msg and "data" in msg:
            msg = msg["data"]
            if not isinstance(msg, dict):
                raise w.BadMessage("combined-stream data must be an object")
        if "result" in msg and "id" in msg:
            return Decoded(ack=True)
        if "error" in msg or ("code" in msg and "msg" in msg):
            detail = msg.get("error", msg)
            return Decoded(error=WireError.of(WireErrorKind.VENUE_ERROR,
                                              f"binance refused a request: {detail}", text))
        kind = msg.get("e")
        if kind == "kline":
            return self._kline(msg, ts_init)
        if kind == "trade":
            return self._trade(msg, ts_init)
        if kind is None and {"u", "s", "b", "a"} <= msg.keys():
            return self._book_ticker(msg, ts_init)
        return Decoded(error=WireError.of(WireErrorKind.UNKNOWN, f"unhandled event {kind!r}",
                                          text))

    def _symbol(self, msg: Any) -> str:
        raw = w.text(msg, "s")
        return self.symbols.get(raw.upper(), raw)

    def _advance(self, key: tuple[str, str], value: int) -> str | None:
        dropped = w.order_check(self._last.get(key), value)
        if dropped is None:
            self._last[key] = value
        return dropped

    def _gap(self, key: tuple[str, str], value: int, step: int | None) -> str | None:
        """Before ``_advance``: the ids or open times skipped between the last and this."""
        last = self._last.get(key)
        if step is None or last is None or value <= last + step:
            return None
        if key[1] == "trade":
            return f"{key[0]} trades {last + 1}..{value - 1} never arrived"
        return f"{key[0]} {key[1]}: bars opening {last + step}..{value - step} ms never arrived"

    def _kline(self, msg: Any, ts_init: int) -> Decoded:
        k = w.field(msg, "k")
        symbol = self._symbol(msg)
        interval = w.text(k, "i")
        open_ms = w.integer(k, "t")
        values = [w.decimal(k, f) for f in ("o", "h", "l", "c", "v")]
        closed = w.field(k, "x")
        if not isinstance(closed, bool):
            raise w.BadMessage(f"field 'x' must be a boolean, got {closed!r}")
        if not closed:
            return Decoded(source_ts=w.ms_to_ns(w.integer(msg, "E")))
        key = (symbol, f"kline_{interval}")
        gap = self._gap(key, open_ms, _INTERVAL_MS.get(interval))
        dropped = self._advance(key, open_ms)
        if dropped is not None:
            return Decoded(dropped=dropped)
        o, h, low, c, v = (float(x) for x in values)
        bar = Bar(symbol, w.ms_to_ns(open_ms), o, h, low, c, v)
        timeframe = _TIMEFRAMES.get(interval, interval)
        return Decoded(events=(BarEvent(symbol, timeframe, bar, ts_init, self.provider),),
                       gap=gap)

    def _trade(self, msg: Any, ts_init: int) -> Decoded:
        symbol = self._symbol(msg)
        trade_id = w.integer(msg, "t")
        price, size = w.decimal(msg, "p"), w.decimal(msg, "q")
        ts_event = w.ms_to_ns(w.integer(msg, "T"))
        buyer_is_maker = w.field(msg, "m")
        if not isinstance(buyer_is_maker, bool):
            raise w.BadMessage(f"field 'm' must be a boolean, got {buyer_is_maker!r}")
        gap = self._gap((symbol, "trade"), trade_id, 1)
        dropped = self._advance((symbol, "trade"), trade_id)
        if dropped is not None:
            return Decoded(dropped=dropped)
        aggressor = Side.SELL if buyer_is_maker else Side.BUY
        return Decoded(events=(TradeEvent(symbol, price, size, aggressor, str(trade_id),
                                          ts_event, ts_init, self.provider),), gap=gap)

    def _book_ticker(self, msg: Any, ts_init: int) -> Decoded:
        symbol = self._symbol(msg)
        update_id = w.integer(msg, "u")
        bid, bid_size = w.decimal(msg, "b"), w.decimal(msg, "B")
        ask, ask_size = w.decimal(msg, "a"), w.decimal(msg, "A")
        dropped = self._advance((symbol, "bookTicker"), update_id)
        if dropped is not None:
            return Decoded(dropped=dropped)
        return Decoded(events=(QuoteEvent(symbol, bid, bid_size, ask, ask_size, ts_init,
                                          ts_init, self.provider),))
