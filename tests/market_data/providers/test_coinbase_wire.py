from __future__ import annotations

import json
from decimal import Decimal

import pytest

from trading_strategy.core.enums import Side
from trading_strategy.market_data.providers._wire import BadMessage, WireErrorKind, iso_to_ns
from trading_strategy.market_data.providers.base import QuoteEvent, TradeEvent
from trading_strategy.market_data.providers.coinbase_wire import (
    CoinbaseDecoder,
    product_id,
    request,
)

from .samples import messages, texts

T = texts("coinbase")
MIDNIGHT = 1717200000 * 1_000_000_000  # 2024-06-01T00:00:00Z


def decoder() -> CoinbaseDecoder:
    d = CoinbaseDecoder("coinbase")
    d.add_symbol("BTC/USD")
    return d


def test_match_is_a_trade_and_the_aggressor_is_opposite_the_maker() -> None:
    d = decoder()
    (first,) = d.decode(T["match_0"], ts_init=3).events
    assert first == TradeEvent("BTC/USD", Decimal("67500.01"), Decimal("0.05000000"),
                               Side.BUY, "700000101", MIDNIGHT + 1_000_000_000, 3, "coinbase")
    (second,) = d.decode(T["match_1"], ts_init=4).events
    assert isinstance(second, TradeEvent) and second.aggressor is Side.SELL


def test_ticker_is_a_quote_at_the_source_time() -> None:
    (quote,) = decoder().decode(T["ticker_0"], ts_init=9).events
    assert quote == QuoteEvent("BTC/USD", Decimal("67500.00"), Decimal("0.46688654"),
                               Decimal("67500.01"), Decimal("1.56637040"),
                               MIDNIGHT + 1_000_000_000, 9, "coinbase")


def test_heartbeat_and_last_match_tell_the_clock_but_are_no_events() -> None:
    d = decoder()
    last = d.decode(T["last_match"], 1)
    beat = d.decode(T["heartbeat_0"], 1)
    assert last.events == () == beat.events
    assert beat.source_ts == MIDNIGHT + 500_000_000 and beat.gap is None


def test_subscriptions_ack_and_error() -> None:
    assert decoder().decode(T["subscriptions"], 1).ack
    error = decoder().decode(T["error"], 1).error
    assert error is not None and error.kind is WireErrorKind.VENUE_ERROR
    assert "BTC-XYZ is not a valid product" in error.reason


def test_sequence_duplicates_and_out_of_order_are_dropped_across_channels() -> None:
    d = decoder()
    for key in ("match_0", "ticker_0", "match_1"):
        assert d.decode(T[key], 1).events
    assert d.decode(T["match_1"], 1).dropped == "duplicate"
    assert d.decode(T["ticker_0"], 1).dropped == "out_of_order"
    assert d.decode(T["heartbeat_0"], 1).dropped == "out_of_order"


def test_sequence_skips_are_not_gaps_but_trade_id_jumps_are() -> None:
    d = decoder()
    for key in ("last_match", "match_0", "match_1", "match_2", "match_3", "match_4"):
        assert d.decode(T[key], 1).gap is None  # sequences skip by 15-20 here
    assert d.decode(T["match_6"], 1).gap == "BTC-USD: trade ids 700000106..700000106 never arrived"


def test_a_heartbeat_ahead_of_the_last_match_is_a_gap_reported_once() -> None:
    d = decoder()
    for key in ("last_match", "match_0", "match_1", "match_2", "match_3", "match_4"):
        d.decode(T[key], 1)
    assert d.decode(T["heartbeat_gap"], 1).gap == (
        "BTC-USD: trade ids 700000106..700000106 never arrived")
    assert d.decode(T["match_6"], 1).gap is None


@pytest.mark.parametrize(("text", "reason"), [
    ("{not json", "not JSON"),
    ('"a string"', "missing field 'type'"),
    (json.dumps({**messages("coinbase")["match_0"], "price": "1e"}), "not a number"),
    (json.dumps({**messages("coinbase")["match_0"], "side": "up"}), "buy or sell"),
    (json.dumps({**messages("coinbase")["match_0"], "time": "2024-06-01 00:00:01"}),
     "RFC 3339"),
    (json.dumps({**messages("coinbase")["match_0"], "sequence": "1"}), "integer"),
])
def test_malformed_input_is_a_typed_error(text: str, reason: str) -> None:
    d = decoder()
    error = d.decode(text, 1).error
    assert error is not None and error.kind is WireErrorKind.MALFORMED
    assert reason in error.reason
    assert d.decode(T["match_0"], 1).events  # a bad message consumed no sequence


def test_unknown_type() -> None:
    error = decoder().decode('{"type": "l2update"}', 1).error
    assert error is not None and error.kind is WireErrorKind.UNKNOWN


def test_times_are_exact_nanoseconds() -> None:
    assert iso_to_ns("2024-06-01T00:00:00.000000001Z") == MIDNIGHT + 1
    assert iso_to_ns("2024-06-01T00:00:59.999999Z") == MIDNIGHT + 59_999_999_000
    assert iso_to_ns("2024-06-01T00:00:00+00:00") == MIDNIGHT
    with pytest.raises(BadMessage):
        iso_to_ns("2024-06-01T00:00:00+02:00")


def test_requests() -> None:
    assert product_id("btc/usd") == "BTC-USD"
    assert json.loads(request("subscribe", ["BTC-USD"], {"matches", "heartbeat"})) == {
        "type": "subscribe", "product_ids": ["BTC-USD"], "channels": ["heartbeat", "matches"]}
