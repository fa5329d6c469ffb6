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
from decimal import Decimal, InvalidOperation
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
#: builds a named tuple from all its fields at C speed (its Python ``__new__`` costs more
#: than parsing the numbers; the hot path fills every field, in order)
_new = tuple.__new__
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
        #: the last trade id / book-ticker update id per our symbol (the hot paths)
        self._last_trade: dict[str, int] = {}
        self._last_update: dict[str, int] = {}

    def add_symbol(self, symbol: str) -> None:
        self.symbols[wire_symbol(symbol).upper()] = symbol

    def decode(self, raw: str | bytes, ts_init: int) -> Decoded:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            msg = json.loads(text)
        except ValueError as exc:
            return Decoded(error=WireError.of(WireErrorKind.MALFORMED, f"not JSON: {exc}", text))
        try:
            if type(msg) is dict:
                data = msg.get("data", msg)
                if type(data) is dict:
                    fast = self._fast(data, ts_init)
                    if fast is not None:
                        return fast
            return self._decode(msg, ts_init, text)
        except w.BadMessage as exc:
            return Decoded(error=WireError.of(WireErrorKind.MALFORMED, str(exc), text))

    def _fast(self, msg: dict[str, Any], ts_init: int) -> Decoded | None:
        """Well-formed, in-order trades and book tickers of a known symbol, with the fewest
        steps (≈ 90 % of the traffic); anything else (None) takes the checked path, which
        says precisely what is wrong."""
        kind = msg.get("e")
        try:
            symbol = self.symbols[msg["s"]]
            if kind == "trade":
                trade_id, ts, maker, p, q = msg["t"], msg["T"], msg["m"], msg["p"], msg["q"]
                if (type(trade_id) is not int or type(ts) is not int or type(maker) is not bool
                        or type(p) is not str or type(q) is not str):
                    return None
                last = self._last_trade.get(symbol)
                if last is not None and trade_id != last + 1:
                    return None  # a duplicate, out of order or a gap: the checked path
                price, size = Decimal(p), Decimal(q)
                if not (price.is_finite() and size.is_finite() and price >= 0 and size >= 0):
                    return None
                self._last_trade[symbol] = trade_id
                event = _new(TradeEvent, (symbol, price, size, Side.SELL if maker else Side.BUY,
                                          str(trade_id), ts * 1_000_000, ts_init,
                                          self.provider))
                return _new(Decoded, ((event,), None, None, None, None, False))
            if kind is None:
                update, b, bq, a, aq = msg["u"], msg["b"], msg["B"], msg["a"], msg["A"]
                if (type(update) is not int or type(b) is not str or type(bq) is not str
                        or type(a) is not str or type(aq) is not str):
                    return None
                last = self._last_update.get(symbol)
                if last is not None and update <= last:
                    return None
                values = Decimal(b), Decimal(bq), Decimal(a), Decimal(aq)
                if not all(v.is_finite() and v >= 0 for v in values):
                    return None
                self._last_update[symbol] = update
                quote = _new(QuoteEvent, (symbol, *values, ts_init, ts_init, self.provider))
                return _new(Decoded, ((quote,), None, None, None, None, False))
        except (KeyError, InvalidOperation):
            return None
        return None

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
        last = self._last_trade.get(symbol)
        gap = (f"{symbol} trades {last + 1}..{trade_id - 1} never arrived"
               if last is not None and trade_id > last + 1 else None)
        dropped = w.order_check(last, trade_id)
        if dropped is None:
            self._last_trade[symbol] = trade_id
        else:
            return Decoded(dropped=dropped)
        aggressor = Side.SELL if buyer_is_maker else Side.BUY
        return Decoded(events=(TradeEvent(symbol, price, size, aggressor, str(trade_id),
                                          ts_event, ts_init, self.provider),), gap=gap)

    def _book_ticker(self, msg: Any, ts_init: int) -> Decoded:
        symbol = self._symbol(msg)
        update_id = w.integer(msg, "u")
        bid, bid_size = w.decimal(msg, "b"), w.decimal(msg, "B")
        ask, ask_size = w.decimal(msg, "a"), w.decimal(msg, "A")
        dropped = w.order_check(self._last_update.get(symbol), update_id)
        if dropped is None:
            self._last_update[symbol] = update_id
        else:
            return Decoded(dropped=dropped)
        return Decoded(events=(QuoteEvent(symbol, bid, bid_size, ask, ask_size, ts_init,
                                          ts_init, self.provider),))
