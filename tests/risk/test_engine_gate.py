"""The pre-trade gate, rule by rule, with hand-computed sizes.

Common set-up unless a test says otherwise: AAPL (tick 0.01, lot 1: money unit 0.01), equity
1 000 000 units (10 000.00), last price 15 000 ticks (150.00), market hours off.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.core.enums import OrderType, Side
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Calendar, Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.risk import (
    Account,
    ReasonCode,
    RiskEngine,
    RiskOverrides,
    RiskSettings,
    VerdictStatus,
    common_money_unit,
)

R = ReasonCode
ACCEPTED, RESIZED, REJECTED = VerdictStatus.ACCEPTED, VerdictStatus.RESIZED, VerdictStatus.REJECTED
AAPL = Instrument("AAPL")
MSFT = Instrument("MSFT")
TS = int(datetime(2024, 3, 5, 15, 0, tzinfo=UTC).timestamp()) * 1_000_000_000  # Tue 10:00 NY


def make(**kw: Any) -> tuple[RiskEngine, Account]:
    kw.setdefault("enforce_market_hours", False)
    engine = RiskEngine(RiskSettings(**kw), {"AAPL": AAPL, "MSFT": MSFT})
    account = engine.new_account(equity=1_000_000)
    account.set_last_price("AAPL", 15_000)
    account.set_last_price("MSFT", 40_000)
    return engine, account


def order(side: Side = Side.BUY, lots: int = 10, *, symbol: str = "AAPL", strategy: str = "s",
          **kw: Any) -> OrderIntent:
    return OrderIntent("id", strategy, symbol, side, lots, **kw)


def verdict(engine: RiskEngine, account: Account, intent: OrderIntent,
            ts: int = TS, **kw: Any) -> tuple[VerdictStatus, int, ReasonCode | None]:
    v = engine.check(intent, account, ts, **kw)
    assert (v.message == "") is (v.reason is None)  # every resize/rejection explains itself
    return v.status, v.lots, v.reason


def test_accepts_within_limits() -> None:
    engine, account = make()
    # cash account: 10 lots × 15 000 = 150 000 ≤ equity 1 000 000
    assert verdict(engine, account, order()) == (ACCEPTED, 10, None)


def test_instrument_and_size_checks() -> None:
    engine, account = make(blocked_symbols=["MSFT"])
    assert verdict(engine, account, order(symbol="TSLA"))[2] is R.UNKNOWN_INSTRUMENT
    assert verdict(engine, account, order(symbol="MSFT"))[2] is R.NOT_TRADABLE
    assert verdict(engine, account, order(lots=0))[2] is R.ZERO_SIZE
    engine, account = make(tradable_symbols=["MSFT"])
    assert verdict(engine, account, order())[2] is R.NOT_TRADABLE


def test_market_hours() -> None:
    engine, account = make(enforce_market_hours=True)
    night = TS - 12 * 3600 * 1_000_000_000  # 22:00 New York the evening before
    assert verdict(engine, account, order(), night)[2] is R.MARKET_CLOSED
    assert verdict(engine, account, order(), TS)[0] is ACCEPTED
    # daily-bar drivers say the session is open explicitly (their ts is UTC midnight)
    assert verdict(engine, account, order(), night, session_open=True)[0] is ACCEPTED
    assert verdict(engine, account, order(), TS, session_open=False)[2] is R.MARKET_CLOSED
    crypto = Instrument("BTC", calendar=Calendar.ALWAYS)
    always = RiskEngine(RiskSettings(), {"BTC": crypto})
    acc = always.new_account(equity=1_000_000)
    acc.set_last_price("BTC", 100)
    assert always.check(order(symbol="BTC"), acc, night).status is ACCEPTED


def test_price_collar() -> None:
    engine, account = make(price_collar_pct=5)
    account.set_last_price("AAPL", 10_000)
    limit = {"order_type": OrderType.LIMIT}
    # 5 % of 10 000 = 500: 10 500 is on the edge (allowed), 10 501 outside
    assert verdict(engine, account, order(limit_ticks=10_500, **limit))[0] is ACCEPTED
    assert verdict(engine, account, order(limit_ticks=10_501, **limit))[2] is R.PRICE_COLLAR
    assert verdict(engine, account, order(limit_ticks=9_499, **limit))[2] is R.PRICE_COLLAR
    # a stop far from the market is legitimate: the collar is for limit prices
    stop = order(order_type=OrderType.STOP, stop_ticks=20_000)
    assert verdict(engine, account, stop)[0] is ACCEPTED
    no_prices = engine.new_account(equity=1_000_000)
    assert verdict(engine, no_prices, order(limit_ticks=10_000, **limit))[2] is R.NO_PRICE


def test_max_position_pct() -> None:
    engine, account = make(max_position_pct=10)
    # cap 10 % of 1 000 000 = 100 000 / 15 000 = 6.67 → 6 lots
    assert verdict(engine, account, order(lots=10)) == (RESIZED, 6, R.MAX_POSITION)
    account.set_position("s", "AAPL", 4)
    assert verdict(engine, account, order(lots=10)) == (RESIZED, 2, R.MAX_POSITION)  # 6 − 4
    account.set_position("s", "AAPL", 6)
    assert verdict(engine, account, order(lots=1)) == (REJECTED, 0, R.MAX_POSITION)
    # selling 10 from long 6 ends short 4 (≤ 6): fine; selling 20 ends short 14: 6 + 6 = 12
    assert verdict(engine, account, order(Side.SELL, 10)) == (ACCEPTED, 10, None)
    assert verdict(engine, account, order(Side.SELL, 20)) == (RESIZED, 12, R.MAX_POSITION)
    # above the cap after an equity drop, selling is still always allowed
    account.equity = 500_000
    assert verdict(engine, account, order(Side.SELL, 6)) == (ACCEPTED, 6, None)


def test_resize_to_fit_off_rejects_instead() -> None:
    engine, account = make(max_position_pct=10, resize_to_fit=False)
    assert verdict(engine, account, order(lots=10)) == (REJECTED, 0, R.MAX_POSITION)


def test_per_strategy_and_portfolio_wide_position_caps() -> None:
    engine, account = make(max_position_pct=10, strategies={
        "small": RiskOverrides(max_position_pct=5), "big": RiskOverrides(max_position_pct=50)})
    # small: 5 % → 50 000 / 15 000 = 3 lots; others: the top-level 6
    assert verdict(engine, account, order(strategy="small")) == (RESIZED, 3, R.MAX_POSITION)
    assert verdict(engine, account, order(strategy="other")) == (RESIZED, 6, R.MAX_POSITION)
    # big may hold 33 lots itself, but the portfolio's AAPL net position is capped at 6:
    # another strategy holds 4, so big may buy 2
    account.set_position("other", "AAPL", 4)
    v = engine.check(order(strategy="big"), account, TS)
    assert (v.status, v.lots, v.reason) == (RESIZED, 2, R.MAX_POSITION)
    assert "portfolio-wide max_position_pct 10%" in v.message


def test_max_order_notional() -> None:
    engine, account = make(max_order_notional=Decimal("1000"))
    # 1000.00 = 100 000 units / 15 000 per lot = 6
    assert verdict(engine, account, order(lots=10)) == (RESIZED, 6, R.MAX_ORDER_NOTIONAL)


def test_strategy_exposure() -> None:
    engine, account = make(max_strategy_exposure_pct=30)
    account.set_position("s", "MSFT", 5)  # 5 × 40 000 = 200 000
    # cap 300 000 − 200 000 other = 100 000 / 15 000 = 6
    assert verdict(engine, account, order(lots=10)) == (RESIZED, 6, R.MAX_STRATEGY_EXPOSURE)


def test_gross_exposure_and_leverage() -> None:
    engine, account = make(max_gross_exposure=Decimal("2000"))
    account.set_position("x", "MSFT", 3)  # gross 120 000
    # (200 000 − 120 000) / 15 000 = 5.33 → 5
    assert verdict(engine, account, order(lots=10)) == (RESIZED, 5, R.MAX_GROSS_EXPOSURE)
    engine, account = make(max_leverage=1.5, initial_margin_pct=50)
    account.set_position("x", "MSFT", 30)  # gross 1 200 000
    # 1.5 × 1 000 000 = 1 500 000; (1 500 000 − 1 200 000) / 15 000 = 20
    assert verdict(engine, account, order(lots=30)) == (RESIZED, 20, R.MAX_LEVERAGE)


def test_buying_power() -> None:
    engine, account = make()
    # cash account: 1 000 000 / 15 000 = 66.7 → 66
    assert verdict(engine, account, order(lots=100)) == (RESIZED, 66, R.INSUFFICIENT_MARGIN)
    engine, account = make(initial_margin_pct=50)  # 2 000 000 / 15 000 = 133
    assert verdict(engine, account, order(lots=100)) == (ACCEPTED, 100, None)
    engine, account = make(check_buying_power=False)
    assert verdict(engine, account, order(lots=1_000)) == (ACCEPTED, 1_000, None)


def test_open_orders_and_rate() -> None:
    engine, account = make(max_open_orders=2, max_orders_per_minute=3)
    account.set_open_orders("s", 2)
    assert verdict(engine, account, order())[2] is R.MAX_OPEN_ORDERS
    account.set_position("s", "AAPL", 10)
    assert verdict(engine, account, order(Side.SELL, 5))[0] is ACCEPTED  # reducing: exempt
    account.set_open_orders("s", 0)
    s = 1_000_000_000
    # the reducing order above was sent at TS: it counts (1), then two entries (2, 3)
    assert verdict(engine, account, order(), TS + s)[0] is ACCEPTED
    assert verdict(engine, account, order(), TS + 2 * s)[0] is ACCEPTED
    assert verdict(engine, account, order(), TS + 3 * s)[2] is R.ORDER_RATE
    assert verdict(engine, account, order(Side.SELL, 1), TS + 3 * s)[0] is ACCEPTED
    # at TS + 60 s the order at TS left the window, but those at 1 s, 2 s and 3 s remain
    assert verdict(engine, account, order(), TS + 60 * s)[2] is R.ORDER_RATE
    assert verdict(engine, account, order(), TS + 61 * s)[0] is ACCEPTED
    assert verdict(engine, account, order(strategy="other"), TS + 3 * s)[0] is ACCEPTED


def test_no_price() -> None:
    engine, _ = make()
    empty = engine.new_account(equity=1_000_000)
    assert verdict(engine, empty, order())[2] is R.NO_PRICE
    # without a last price the decision price values the order: 10 × 15 000 fits
    assert verdict(engine, empty, order(decision_ticks=15_000)) == (ACCEPTED, 10, None)


def test_reduce_only() -> None:
    engine, account = make()
    assert verdict(engine, account, order(Side.SELL, 3, reduce_only=True))[2] is R.REDUCE_ONLY
    account.set_position("s", "AAPL", 5)
    assert verdict(engine, account, order(Side.SELL, 3, reduce_only=True)) == (ACCEPTED, 3, None)
    assert verdict(engine, account, order(Side.SELL, 8, reduce_only=True)) == (
        RESIZED, 5, R.REDUCE_ONLY)  # cut to close, not reverse
    assert verdict(engine, account, order(Side.BUY, 1, reduce_only=True))[2] is R.REDUCE_ONLY


def test_value_factor_with_mixed_precisions() -> None:
    btc = Instrument("BTC", tick_size=Decimal("0.01"), lot_size=Decimal("0.0001"),
                     calendar=Calendar.ALWAYS)
    aapl = Instrument("AAPL", calendar=Calendar.ALWAYS)
    # gcd(0.01 × 1, 0.01 × 0.0001) = 0.000001
    assert common_money_unit([aapl, btc]) == Decimal("0.000001")
    engine = RiskEngine(RiskSettings(max_position_pct=10), {"AAPL": aapl, "BTC": btc})
    assert engine.value_factor("AAPL") == 10_000 and engine.value_factor("BTC") == 1
    account = engine.new_account(equity=10_000_000_000)  # 10 000.00 in 0.000001 units
    account.set_last_price("AAPL", 15_000)
    account.set_last_price("BTC", 6_000_000)  # 60 000.00
    # AAPL: 10 % = 1 000 000 000 / (15 000 × 10 000) = 6.67 → 6 lots (as with cents)
    assert engine.check(order(lots=10), account, TS).lots == 6
    # BTC: 1 000 000 000 / 6 000 000 = 166 lots of 0.0001 = 0.0166 BTC ≈ 996.00
    assert engine.check(order(symbol="BTC", lots=1_000), account, TS).lots == 166


def test_configuration_errors() -> None:
    fx = Instrument("EURUSD", calendar=Calendar.FX)
    with pytest.raises(ConfigError, match=r"risk\.day_calendar"):
        RiskEngine(RiskSettings(), {"AAPL": AAPL, "EURUSD": fx})
    assert RiskEngine(RiskSettings(day_calendar="FX"),
                      {"AAPL": AAPL, "EURUSD": fx}).day_calendar is Calendar.FX
    with pytest.raises(ConfigError, match="whole multiple"):
        RiskEngine(RiskSettings(), {"AAPL": AAPL}, money_unit=Decimal("0.03"))


def test_verdict_serialises() -> None:
    engine, account = make(max_position_pct=10)
    v = engine.check(order(), account, TS)
    assert v.allowed
    assert v.to_dict() == {"status": "resized", "lots": 6, "reason": "max_position",
                           "message": "buy 10 AAPL exceeds max_position_pct 10% of equity; "
                                      "at most 6 lots allowed"}
