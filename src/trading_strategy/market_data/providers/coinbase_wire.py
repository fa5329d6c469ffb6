"""Coinbase Exchange's public WebSocket feed on the wire: pure parsing and request builders.

Documented shapes (https://docs.cdp.coinbase.com/exchange/websocket-feed/channels):

* ``match`` (``matches`` channel) → a ``TradeEvent``. ``side`` is the *maker's* side, so
  the aggressor is the other one. ``last_match`` (sent once on subscribing) is the trade
  before we joined: it sets the trade-id baseline and is not an event.
* ``ticker`` → a ``QuoteEvent`` from ``best_bid``/``best_ask`` and their sizes.
* ``heartbeat`` → no event; its ``time`` is the source's clock (bars built from trades close
  on it) and its ``last_trade_id`` reveals trades we never received.
* ``subscriptions`` acknowledges a request; ``error`` refuses one.

Ordering and loss, per product: ``sequence`` must advance (lower or equal: out of order or
a duplicate, dropped and counted). On the ``ticker``/``matches``/``heartbeat`` channels the
sequence numbers the *full* channel's messages, so it skips by design and a skip is not a
loss; ``trade_id`` is contiguous per product, so a jump in it (in a match, or a heartbeat's
``last_trade_id`` ahead of the last match seen) is a real gap: reported, and health degrades.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from trading_strategy.core.enums import Side
from trading_strategy.market_data.providers import _wire as w
from trading_strategy.market_data.providers._wire import Decoded, WireError, WireErrorKind
from trading_strategy.market_data.providers.base import Channel, QuoteEvent, TradeEvent

#: what a subscription needs from the feed (the heartbeat channel is always added)
CHANNELS = {Channel.BARS: "matches", Channel.TRADES: "matches", Channel.QUOTES: "ticker"}
HEARTBEAT = "heartbeat"


def product_id(symbol: str) -> str:
    """``BTC/USD`` → ``BTC-USD``."""
    return symbol.replace("/", "-").upper()


def request(kind: str, products: Iterable[str], channels: Iterable[str]) -> str:
    """A ``subscribe``/``unsubscribe`` message."""
    return json.dumps({"type": kind, "product_ids": sorted(products),
                       "channels": sorted(channels)})


class CoinbaseDecoder:
    def __init__(self, provider: str) -> None:
        self.provider = provider
        #: product id → our symbol
        self.symbols: dict[str, str] = {}
        self._sequence: dict[str, int] = {}
        self._trade_id: dict[str, int] = {}

    def add_symbol(self, symbol: str) -> None:
        self.symbols[product_id(symbol)] = symbol

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
        kind = w.text(msg, "type")
        if kind == "subscriptions":
            return Decoded(ack=True)
        if kind == "error":
            reason = f"coinbase: {msg.get('message', '')} {msg.get('reason', '')}".strip()
            return Decoded(error=WireError.of(WireErrorKind.VENUE_ERROR, reason, text))
        if kind not in ("match", "last_match", "ticker", "heartbeat"):
            return Decoded(error=WireError.of(WireErrorKind.UNKNOWN, f"unhandled type {kind!r}",
                                              text))
        product = w.text(msg, "product_id")
        sequence = w.integer(msg, "sequence")
        ts_event = w.iso_to_ns(w.text(msg, "time"))
        if kind == "heartbeat":
            last_trade = w.integer(msg, "last_trade_id")
        elif kind == "ticker":
            quote = QuoteEvent(self.symbols.get(product, product), w.decimal(msg, "best_bid"),
                               w.decimal(msg, "best_bid_size"), w.decimal(msg, "best_ask"),
                               w.decimal(msg, "best_ask_size"), ts_event, ts_init,
                               self.provider)
        else:
            trade_id = w.integer(msg, "trade_id")
            price, size = w.decimal(msg, "price"), w.decimal(msg, "size")
            maker = w.text(msg, "side")
            if maker not in ("buy", "sell"):
                raise w.BadMessage(f"field 'side' must be buy or sell, got {maker!r}")
        dropped = w.order_check(self._sequence.get(product), sequence)
        if dropped is not None:
            return Decoded(dropped=dropped)
        self._sequence[product] = sequence
        if kind == "ticker":
            return Decoded(events=(quote,))
        if kind == "heartbeat":
            return Decoded(source_ts=ts_event, gap=self._trade_gap(product, last_trade, True))
        if kind == "last_match":
            self._trade_id.setdefault(product, trade_id)
            return Decoded(source_ts=ts_event)
        gap = self._trade_gap(product, trade_id, False)
        aggressor = Side.BUY if maker == "sell" else Side.SELL
        trade = TradeEvent(self.symbols.get(product, product), price, size, aggressor,
                           str(trade_id), ts_event, ts_init, self.provider)
        return Decoded(events=(trade,), gap=gap)

    def _trade_gap(self, product: str, trade_id: int, heartbeat: bool) -> str | None:
        """A match must be the next trade id; a heartbeat's ``last_trade_id`` may equal the
        last one seen. Missing ids are reported once (the baseline moves past them)."""
        last = self._trade_id.get(product)
        if last is None or trade_id <= last:
            if last is None:
                self._trade_id[product] = trade_id
            return None
        self._trade_id[product] = trade_id
        first_missing, last_missing = last + 1, trade_id if heartbeat else trade_id - 1
        if first_missing > last_missing:
            return None
        return f"{product}: trade ids {first_missing}..{last_missing} never arrived"
