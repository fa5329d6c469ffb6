from __future__ import annotations

from decimal import Decimal

import pytest

from trading_strategy.core.bars import Bar
from trading_strategy.core.errors import ConfigError
from trading_strategy.market_data.providers.base import BarEvent, TradeEvent
from trading_strategy.market_data.providers.trade_bars import TradeBarBuilder

S = 1_000_000_000
T0 = 1717200000 * S  # a minute boundary


def trade(second: float, price: str, size: str = "1") -> TradeEvent:
    return TradeEvent("BTC/USD", Decimal(price), Decimal(size), None, "1",
                      T0 + int(second * S), 0, "coinbase")


def bar(open_ns: int, o: float, h: float, low: float, c: float, v: float) -> BarEvent:
    return BarEvent("BTC/USD", "1m", Bar("BTC/USD", open_ns, o, h, low, c, v), 42, "coinbase")


def test_a_bar_closes_when_a_trade_of_the_next_interval_arrives() -> None:
    b = TradeBarBuilder("BTC/USD", "1m", "coinbase")
    assert b.on_trade(trade(1, "10"), 42) == []
    assert b.on_trade(trade(20, "12", "2"), 42) == []
    assert b.on_trade(trade(59.999, "9", "0.5"), 42) == []
    assert b.on_trade(trade(60, "11"), 42) == [bar(T0, 10, 12, 9, 9, 3.5)]


def test_the_source_clock_closes_a_bar_at_the_boundary_not_before() -> None:
    b = TradeBarBuilder("BTC/USD", "1m", "coinbase")
    b.on_trade(trade(5, "10"), 42)
    assert b.on_clock(T0 + 60 * S - 1, 42) == []
    assert b.on_clock(T0 + 60 * S, 42) == [bar(T0, 10, 10, 10, 10, 1)]
    assert b.on_clock(T0 + 600 * S, 42) == []


def test_an_interval_without_trades_makes_no_bar() -> None:
    b = TradeBarBuilder("BTC/USD", "1m", "coinbase")
    b.on_trade(trade(5, "10"), 42)
    closed = b.on_trade(trade(185, "13"), 42)  # minutes 1 and 2 had no trade
    assert closed == [bar(T0, 10, 10, 10, 10, 1)]
    assert b.on_clock(T0 + 240 * S, 42) == [bar(T0 + 180 * S, 13, 13, 13, 13, 1)]


def test_a_trade_of_an_interval_already_closed_is_late_and_counted() -> None:
    b = TradeBarBuilder("BTC/USD", "1m", "coinbase")
    b.on_trade(trade(5, "10"), 42)
    b.on_clock(T0 + 61 * S, 42)
    assert b.on_trade(trade(30, "99"), 42) == []
    b.on_trade(trade(65, "11"), 42)
    assert b.on_trade(trade(50, "99"), 42) == []
    assert b.late == 2
    assert b.on_clock(T0 + 120 * S, 42) == [bar(T0 + 60 * S, 11, 11, 11, 11, 1)]


def test_sizes_sum_exactly_before_the_bar_becomes_floats() -> None:
    b = TradeBarBuilder("BTC/USD", "1m", "coinbase")
    for _ in range(10):
        b.on_trade(trade(1, "10", "0.1"), 42)
    (closed,) = b.on_clock(T0 + 60 * S, 42)
    assert closed.bar.volume == 1.0


def test_calendar_months_are_refused() -> None:
    with pytest.raises(ConfigError, match="calendar months"):
        TradeBarBuilder("BTC/USD", "1mo", "coinbase")
