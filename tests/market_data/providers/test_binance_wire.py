from __future__ import annotations

import json
from decimal import Decimal

import pytest

from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import Side
from trading_strategy.core.errors import ConfigError
from trading_strategy.market_data.providers._wire import Decoded, WireErrorKind
from trading_strategy.market_data.providers.base import (
    BarEvent,
    Channel,
    QuoteEvent,
    Subscription,
    TradeEvent,
)
from trading_strategy.market_data.providers.binance_wire import (
    BinanceDecoder,
    request,
    stream_name,
)

from .samples import messages, texts

T = texts("binance")
MS = 1_000_000


def decoder() -> BinanceDecoder:
    d = BinanceDecoder("binance")
    d.add_symbol("BTC/USDT")
    return d


def test_closed_kline_is_a_bar_at_its_open_time() -> None:
    decoded = decoder().decode(T["kline_0"], ts_init=99)
    assert decoded.events == (BarEvent("BTC/USDT", "1m", Bar("BTC/USDT", 1717200000000 * MS,
                                       67500.01, 67530.0, 67480.0, 67515.5, 2.5), 99,
                                       "binance"),)
    assert decoded.error is None and decoded.gap is None


def test_open_kline_is_no_event_but_tells_the_source_clock() -> None:
    decoded = decoder().decode(T["kline_open"], ts_init=1)
    assert decoded.events == () and decoded.error is None
    assert decoded.source_ts == 1717200030123 * MS


def test_trade_exact_with_id_and_aggressor_from_the_maker_flag() -> None:
    d = decoder()
    sell = d.decode(T["trade_0"], ts_init=5).events
    buy = d.decode(T["trade_1"], ts_init=6).events
    assert sell == (TradeEvent("BTC/USDT", Decimal("67500.01000000"), Decimal("0.00150000"),
                               Side.SELL, "3600000001", 1717200001000 * MS, 5, "binance"),)
    assert isinstance(buy[0], TradeEvent) and buy[0].aggressor is Side.BUY


def test_the_fast_path_builds_the_same_tuples_as_the_checked_one() -> None:
    d = decoder()
    trade, quote = d.decode(T["trade_0"], 5), d.decode(T["book_ticker_0"], 5)
    assert trade == Decoded(events=trade.events) and quote == Decoded(events=quote.events)
    assert type(trade.events[0]) is TradeEvent and type(quote.events[0]) is QuoteEvent
    assert (trade.events[0].provider, quote.events[0].provider) == ("binance", "binance")


def test_book_ticker_is_a_quote_stamped_on_arrival() -> None:
    decoded = decoder().decode(T["book_ticker_0"], ts_init=7)
    assert decoded.events == (QuoteEvent("BTC/USDT", Decimal("67500.00000000"),
                                         Decimal("1.20000000"), Decimal("67500.01000000"),
                                         Decimal("0.35000000"), 7, 7, "binance"),)


def test_raw_stream_payload_without_envelope() -> None:
    (event,) = decoder().decode(T["raw_trade"], ts_init=1).events
    assert isinstance(event, TradeEvent) and event.trade_id == "3600000004"


def test_ack_and_refusal() -> None:
    assert decoder().decode(T["subscribe_ack"], 1).ack
    error = decoder().decode(T["error"], 1).error
    assert error is not None and error.kind is WireErrorKind.VENUE_ERROR
    assert "Invalid request" in error.reason


@pytest.mark.parametrize(("text", "reason"), [
    ('{"stream": "btcusdt@trade", "data": {"e": "tr', "not JSON"),
    ("[1, 2]", "JSON object"),
    (json.dumps({**messages("binance")["raw_trade"], "p": "abc"}), "not a number"),
    (json.dumps({**messages("binance")["raw_trade"], "p": 67500.1}), "decimal string"),
    (json.dumps({**messages("binance")["raw_trade"], "p": "-1"}), ">= 0"),
    (json.dumps({k: v for k, v in messages("binance")["raw_trade"].items() if k != "t"}),
     "missing field 't'"),
    (json.dumps({**messages("binance")["raw_trade"], "m": "yes"}), "boolean"),
])
def test_malformed_input_is_a_typed_error_never_an_exception(text: str, reason: str) -> None:
    error = decoder().decode(text, 1).error
    assert error is not None and error.kind is WireErrorKind.MALFORMED
    assert reason in error.reason


def test_unknown_event_is_reported_not_raised() -> None:
    error = decoder().decode('{"e": "24hrTicker", "s": "BTCUSDT"}', 1).error
    assert error is not None and error.kind is WireErrorKind.UNKNOWN


def test_duplicates_and_out_of_order_are_dropped_per_stream() -> None:
    d = decoder()
    for key in ("trade_0", "trade_1", "kline_0", "kline_1", "book_ticker_1"):
        assert d.decode(T[key], 1).events
    assert d.decode(T["trade_1"], 1).dropped == "duplicate"
    assert d.decode(T["trade_0"], 1).dropped == "out_of_order"
    assert d.decode(T["kline_0"], 1).dropped == "out_of_order"
    assert d.decode(T["book_ticker_0"], 1).dropped == "out_of_order"


def test_skipped_trade_ids_and_klines_are_gaps() -> None:
    d = decoder()
    d.decode(T["trade_0"], 1)
    assert d.decode(T["trade_2"], 1).gap == "BTC/USDT trades 3600000002..3600000002 never arrived"
    d.decode(T["kline_0"], 1)
    decoded = d.decode(T["kline_2"], 1)
    assert decoded.events and decoded.gap == (
        "BTC/USDT kline_1m: bars opening 1717200060000..1717200060000 ms never arrived")


def test_stream_names_and_requests() -> None:
    assert stream_name(Subscription("BTC/USDT", Channel.BARS, "1mo")) == "btcusdt@kline_1M"
    assert stream_name(Subscription("ETH/USDT", Channel.TRADES)) == "ethusdt@trade"
    assert stream_name(Subscription("ETH/USDT", Channel.QUOTES)) == "ethusdt@bookTicker"
    with pytest.raises(ConfigError, match="no '7m' klines"):
        stream_name(Subscription("BTC/USDT", Channel.BARS, "7m"))
    assert json.loads(request("SUBSCRIBE", ["btcusdt@trade"], 3)) == {
        "method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 3}
