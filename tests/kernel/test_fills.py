"""Fill rules (``kernel.fills``) pinned to hand-computed prices, plus latency.

All prices in the pure tests are integer ticks; ``o, h, l`` are the bar's open, high, low.
``match`` returns ``(price or None, triggered, taker)``.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from trading_strategy.backtesting.runner import BacktestResult, run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import OrderType
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.kernel.fills import (
    PRIORITY,
    limit_price,
    match,
    participation_cap,
    stop_trigger,
)
from trading_strategy.strategies.base import Strategy
from trading_strategy.strategies.context import Context
from trading_strategy.testing import make_bars, scripted

BUY, SELL = 1, -1
MKT, LMT, STP, STL = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT


# --------------------------------------------------------------------------- market


def test_market_fills_at_the_open_and_takes_liquidity() -> None:
    # bar o=100 h=110 l=90: a market order is the open, 100, whatever the range
    assert match(MKT, BUY, None, None, False, 100, 110, 90) == (100, False, True)
    assert match(MKT, SELL, None, None, False, 100, 110, 90) == (100, False, True)


# --------------------------------------------------------------------------- limit


def test_limit_buy_normal_gap_and_miss() -> None:
    # buy limit 95: bar o=100 h=105 l=94 trades down through 95 -> filled at 95 (maker)
    assert match(LMT, BUY, 95, None, False, 100, 105, 94) == (95, False, False)
    # low exactly at the limit still fills (l <= L)
    assert limit_price(BUY, 95, 100, 105, 95) == 95
    # gap: the bar opens at 93, already below 95 -> the better price, the open 93
    assert match(LMT, BUY, 95, None, False, 93, 97, 92) == (93, False, False)
    # open exactly at the limit: o <= L -> the open (= the limit)
    assert limit_price(BUY, 95, 95, 99, 95) == 95
    # low 96 never reaches 95 -> no fill
    assert match(LMT, BUY, 95, None, False, 100, 105, 96) == (None, False, False)


def test_limit_sell_normal_gap_and_miss() -> None:
    # sell limit 105: o=100 h=106 -> 105; gap open 107 -> 107; high 104 -> nothing
    assert match(LMT, SELL, 105, None, False, 100, 106, 99) == (105, False, False)
    assert match(LMT, SELL, 105, None, False, 107, 108, 101) == (107, False, False)
    assert match(LMT, SELL, 105, None, False, 100, 104, 99) == (None, False, False)


# --------------------------------------------------------------------------- stop


def test_stop_buy_normal_gap_and_miss() -> None:
    # buy stop 105: o=100 h=106 -> triggers at 105, a market order (taker: slippage applies)
    assert match(STP, BUY, None, 105, False, 100, 106, 99) == (105, True, True)
    # gap: opens at 107 above the stop -> the open 107 (worse than the stop)
    assert match(STP, BUY, None, 105, False, 107, 108, 106) == (107, True, True)
    # high 104 -> not triggered
    assert match(STP, BUY, None, 105, False, 100, 104, 99) == (None, False, True)


def test_stop_sell_normal_gap_and_miss() -> None:
    # sell stop 95: o=100 l=94 -> 95; gap open 93 -> 93; low 96 -> nothing
    assert match(STP, SELL, None, 95, False, 100, 101, 94) == (95, True, True)
    assert match(STP, SELL, None, 95, False, 93, 94, 90) == (93, True, True)
    assert match(STP, SELL, None, 95, False, 100, 101, 96) == (None, False, True)
    assert stop_trigger(SELL, 95, 95, 99, 95) == 95  # open exactly at the stop


def test_a_triggered_stop_left_open_fills_at_the_next_open() -> None:
    # (e.g. cut by the volume cap) a triggered stop is a market order: next bar's open 108
    assert match(STP, BUY, None, 105, True, 108, 109, 100) == (108, True, True)


# --------------------------------------------------------------------------- stop-limit


def test_stop_limit_buy_triggered_at_the_open() -> None:
    # S=105, L=108; opens at 107 >= S (triggered at the open) and 107 <= L -> fills at 107
    assert match(STL, BUY, 108, 105, False, 107, 110, 106) == (107, True, False)
    # S=105, L=106; opens 107 > L: a limit at 106 from the open; low 104 reaches it -> 106
    assert match(STL, BUY, 106, 105, False, 107, 110, 104) == (106, True, False)
    # same but the low stays at 107 -> triggered, unfilled, survives as a limit
    assert match(STL, BUY, 106, 105, False, 107, 110, 107) == (None, True, False)


def test_stop_limit_buy_triggered_intrabar_and_marketable() -> None:
    # S=105 <= L=106; o=100 h=110: the stop triggers at 105, a limit 106 buy fills at 105
    assert match(STL, BUY, 106, 105, False, 100, 110, 99) == (105, True, False)


def test_stop_limit_buy_intrabar_with_limit_below_stop_stays_triggered() -> None:
    # S=105, L=103: touched 105 intrabar; whether price came back to 103 afterwards is not
    # knowable from OHLC (low 99 may precede the high) -> no fill, order stays triggered
    assert match(STL, BUY, 103, 105, False, 100, 110, 99) == (None, True, False)
    # next bar, as a plain limit 103: o=104 > 103, l=102 <= 103 -> 103
    assert match(STL, BUY, 103, 105, True, 104, 106, 102) == (103, True, False)
    # or opening below the limit at 102 -> the open 102
    assert match(STL, BUY, 103, 105, True, 102, 106, 101) == (102, True, False)


def test_stop_limit_sell_mirrors() -> None:
    # S=95, L=94: o=100 l=90 -> triggered at 95 >= 94, marketable -> 95
    assert match(STL, SELL, 94, 95, False, 100, 101, 90) == (95, True, False)
    # S=95, L=97 (limit above the stop): triggered at 95 < 97 -> stays triggered
    assert match(STL, SELL, 97, 95, False, 100, 101, 90) == (None, True, False)
    # not triggered at all: low 96
    assert match(STL, SELL, 94, 95, False, 100, 101, 96) == (None, False, False)


def test_intrabar_priority_market_then_stops_then_limits() -> None:
    assert PRIORITY[MKT] < PRIORITY[STP] == PRIORITY[STL] < PRIORITY[LMT]


def test_participation_cap_whole_lots() -> None:
    # 10% of 1000 shares = 100 lots of 1; 10% of 5 units with lot 0.01 = 0.5 / 0.01 = 50
    assert participation_cap(1000.0, Decimal("0.1"), Decimal(1)) == 100
    assert participation_cap(5.0, Decimal("0.1"), Decimal("0.01")) == 50
    # exact: 0.7 * 0.1 / 0.001 is 70 lots, where float arithmetic truncates to 69
    assert participation_cap(0.7, Decimal("0.1"), Decimal("0.001")) == 70


# --------------------------------------------------------------------------- latency


def _buy_once_at(bar: int, qty: int = 1) -> type[Strategy]:
    def on_bar(ctx: Context, i: int) -> None:
        if i == bar:
            ctx.buy(qty)

    return scripted(on_bar)


def _fills(result: BacktestResult) -> list[tuple[int, Decimal]]:
    inst = result.bars.instrument
    return [(f.bar_index, inst.price(f.price_ticks)) for f in result.engine.state.fills]


OPENS = [10.00, 10.01, 10.02, 10.03, 10.04, 10.05]


def test_default_latency_fills_on_the_next_bar() -> None:
    bars = make_bars([10.5] * 6, open=OPENS)
    result = run_backtest(_buy_once_at(0), bars, BacktestSettings(), allow_short_history=True)
    assert _fills(result) == [(1, Decimal("10.01"))]


@pytest.mark.parametrize(("latency_bars", "bar", "price"), [(2, 2, "10.02"), (3, 3, "10.03")])
def test_latency_bars(latency_bars: int, bar: int, price: str) -> None:
    # decided on bar 0 -> eligible on bar 0 + latency, filled at that bar's open
    bars = make_bars([10.5] * 6, open=OPENS)
    settings = BacktestSettings(latency_bars=latency_bars)
    result = run_backtest(_buy_once_at(0), bars, settings, allow_short_history=True)
    assert _fills(result) == [(bar, Decimal(price))]


@pytest.mark.parametrize(
    ("ms", "bar"),
    [
        # bar 0 opens 00:00 and closes 00:01; the order reaches the venue at 00:01 + ms;
        # it fills at the open of the first bar opening at or after that instant
        (0, 1),  # 00:01:00.000 -> bar 1 (opens 00:01)
        (1, 2),  # 00:01:00.001 -> bar 1 already opened -> bar 2
        (59_999, 2),  # 00:01:59.999 -> bar 2 (00:02)
        (60_000, 2),  # 00:02:00.000 exactly -> bar 2
        (60_001, 3),  # 00:02:00.001 -> bar 3
        (180_000, 4),  # 00:04:00.000 -> bar 4
    ],
)
def test_latency_ms_on_one_minute_bars(ms: int, bar: int) -> None:
    bars = make_bars([10.5] * 6, open=OPENS, timeframe="1m")
    settings = BacktestSettings(latency_ms=ms)
    result = run_backtest(_buy_once_at(0), bars, settings, allow_short_history=True)
    assert _fills(result) == [(bar, Decimal(OPENS[bar]).quantize(Decimal("0.01")))]


def test_latency_ms_skips_a_gap_in_the_minute_bars() -> None:
    # bars open at minutes 0, 1, 2, 5, 6 (minutes 3-4 missing); decided on bar 1 (00:01,
    # closes 00:02); 60 s latency -> arrives 00:03 -> first bar opening at/after 00:03 is the
    # 00:05 bar, index 3, filled at its open 10.03
    minute = 60 * 1_000_000_000
    t0 = int(np.datetime64("2020-01-01", "ns").astype(np.int64))
    ts = np.array([t0 + m * minute for m in (0, 1, 2, 5, 6)], dtype=np.int64)
    o = np.array(OPENS[:5])
    c = np.full(5, 10.5)
    inst = Instrument("GAP", tick_size=Decimal("0.01"), asset_class=AssetClass.CRYPTO,
                      calendar=Calendar.ALWAYS)
    bars = BarSeries(inst, Timeframe.parse("1m"), ts, o, np.maximum(o, c), np.minimum(o, c), c,
                     np.full(5, 1e6))
    settings = BacktestSettings(latency_ms=60_000)
    result = run_backtest(_buy_once_at(1), bars, settings, allow_short_history=True)
    assert _fills(result) == [(3, Decimal("10.03"))]


def test_latency_must_be_at_least_one_bar() -> None:
    with pytest.raises(ConfigError, match="at least 1 bar"):
        BacktestSettings(latency_bars=0)
    with pytest.raises(ConfigError, match="latency in ms"):
        BacktestSettings(latency_ms=-1)


def test_reduce_only_never_flips() -> None:
    from trading_strategy.kernel.fills import reduce_only_lots

    assert reduce_only_lots(10, 4, -1) == 4  # sell 10 against a long of 4: only 4
    assert reduce_only_lots(3, 4, -1) == 3
    assert reduce_only_lots(5, 4, 1) == 0  # a buy cannot reduce a long
    assert reduce_only_lots(5, 0, -1) == 0  # nothing to reduce when flat
    assert reduce_only_lots(5, -2, 1) == 2


def test_buy_cash_rule_covers_first_then_pays_for_the_long() -> None:
    from trading_strategy.kernel.fills import buy_is_affordable, cash_after_cover

    # flat, cash 1000 units, 10 lots at 99 ticks + 10 commission = 1000: exactly affordable
    assert buy_is_affordable(10, 0, 99, 1000, 10)
    assert not buy_is_affordable(10, 0, 99, 999, 10)
    # short 10 at 100 with cash 11000: covering 10 costs 1000 -> 10000 left; 190 more long
    # lots would cost 19000: refused; covering alone is always allowed
    assert cash_after_cover(200, -10, 100, 11000) == 10000
    assert not buy_is_affordable(200, -10, 100, 11000, 0)
    assert buy_is_affordable(10, -10, 100, 0, 0)
    # sells are never limited by cash
    assert buy_is_affordable(0, 5, 100, 0, 0)
