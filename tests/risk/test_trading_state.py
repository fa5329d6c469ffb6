"""Daily loss → REDUCING, max drawdown → HALTED, re-arm, and day boundaries per calendar.

Equity figures are money units (cents of an instrument with tick 0.01 and lot 1).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.core.enums import Side
from trading_strategy.core.fsm import IllegalTransition
from trading_strategy.core.instrument import Calendar, Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.risk import (
    Account,
    ReasonCode,
    RiskEngine,
    RiskOverrides,
    RiskSettings,
    StateReason,
    TradingState,
    VerdictStatus,
)
from trading_strategy.risk.trading_state import TRANSITIONS

ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
H = 3600 * 1_000_000_000


def ns(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp()) * 1_000_000_000


def make(calendar: Calendar = Calendar.ALWAYS, **kw: Any) -> tuple[RiskEngine, Account]:
    kw.setdefault("enforce_market_hours", False)
    kw.setdefault("check_buying_power", False)
    engine = RiskEngine(RiskSettings(**kw), {"X": Instrument("X", calendar=calendar)})
    account = engine.new_account(equity=1_000_000)
    account.set_last_price("X", 100)
    return engine, account


def buy(strategy: str = "s", lots: int = 1) -> OrderIntent:
    return OrderIntent("b", strategy, "X", Side.BUY, lots)


def sell(strategy: str = "s", lots: int = 1) -> OrderIntent:
    return OrderIntent("s", strategy, "X", Side.SELL, lots)


def test_daily_loss_pct_reduces_until_next_day() -> None:
    engine, account = make(max_daily_loss_pct=2)
    day1 = ns(2024, 1, 9, 10)
    assert engine.on_equity(day1, None, 1_000_000) == []  # start-of-day equity 1 000 000
    assert engine.on_equity(day1 + H, None, 985_000) == []  # loss 15 000 = 1.5 %
    [event] = engine.on_equity(day1 + 2 * H, None, 980_000)  # loss 20 000 = 2 %: reached
    assert (event.previous, event.current, event.reason) == (ACTIVE, REDUCING,
                                                             StateReason.DAILY_LOSS)
    assert event.cancel_entry_orders and not event.flatten and event.scope is None
    assert (event.equity_units, event.threshold_units) == (980_000, 1_000_000)
    assert "daily loss 200.00" in event.message  # 20 000 units of 0.01
    assert engine.check(buy(), account, day1 + 3 * H).reason is ReasonCode.REDUCING
    account.set_position("s", "X", 10)
    assert engine.check(sell(lots=4), account, day1 + 3 * H).lots == 4  # reducing: allowed
    # a reversal is cut to the size that closes the position
    v = engine.check(sell(lots=15), account, day1 + 3 * H)
    assert (v.lots, v.reason) == (10, ReasonCode.REDUCING)
    # UTC midnight: new day, start-of-day equity = the last equity seen (980 000)
    [rolled] = engine.on_equity(ns(2024, 1, 10), None, 980_000)
    assert (rolled.previous, rolled.current, rolled.reason) == (REDUCING, ACTIVE,
                                                                StateReason.DAY_ROLLOVER)
    assert engine.check(buy(), account, ns(2024, 1, 10)).status.value == "accepted"
    # 2 % of 980 000 = 19 600: a loss of 19 599 does not trigger, 19 600 does
    assert engine.on_equity(ns(2024, 1, 10, 1), None, 960_401) == []
    assert [e.current for e in engine.on_equity(ns(2024, 1, 10, 2), None, 960_400)] == [REDUCING]


def test_daily_loss_absolute() -> None:
    engine, _ = make(max_daily_loss=Decimal("150"))  # 15 000 units
    engine.on_equity(ns(2024, 1, 9, 10), None, 1_000_000)
    assert engine.on_equity(ns(2024, 1, 9, 11), None, 985_001) == []
    assert engine.on_equity(ns(2024, 1, 9, 12), None, 985_000)[0].current is REDUCING


def test_reducing_ends_at_the_boundary_even_without_an_equity_update() -> None:
    engine, account = make(max_daily_loss_pct=2)
    engine.on_equity(ns(2024, 1, 9, 10), None, 1_000_000)
    engine.on_equity(ns(2024, 1, 9, 11), None, 900_000)
    assert engine.check(buy(), account, ns(2024, 1, 9, 23, 59, 59)).reason is ReasonCode.REDUCING
    assert engine.check(buy(), account, ns(2024, 1, 10)).allowed
    [rolled] = engine.drain_events()
    assert rolled.reason is StateReason.DAY_ROLLOVER and rolled.ts_ns == ns(2024, 1, 10)
    assert engine.state(None) is ACTIVE and engine.drain_events() == []


@pytest.mark.parametrize(
    ("calendar", "last_reducing", "first_active"),
    [
        # XNYS: New York midnight = 05:00 UTC in January
        (Calendar.XNYS, ns(2024, 1, 10, 4, 59, 59), ns(2024, 1, 10, 5)),
        # FX: 17:00 New York = 22:00 UTC in January
        (Calendar.FX, ns(2024, 1, 9, 21, 59, 59), ns(2024, 1, 9, 22)),
        # 24/7: UTC midnight
        (Calendar.ALWAYS, ns(2024, 1, 9, 23, 59, 59), ns(2024, 1, 10)),
    ],
)
def test_day_boundary_per_calendar(calendar: Calendar, last_reducing: int,
                                   first_active: int) -> None:
    engine, account = make(calendar, max_daily_loss_pct=2)
    engine.on_equity(ns(2024, 1, 9, 16), None, 1_000_000)  # 11:00 New York
    assert engine.on_equity(ns(2024, 1, 9, 17), None, 970_000)[0].current is REDUCING
    assert not engine.check(buy(), account, last_reducing).allowed
    assert engine.check(buy(), account, first_active).allowed


def test_daily_bars_each_bar_its_own_day() -> None:
    # daily bars stamped at UTC midnight: start-of-day = the previous bar's equity
    engine, _ = make(Calendar.XNYS, max_daily_loss_pct=2)
    assert engine.on_equity(ns(2024, 1, 8), None, 1_000_000) == []
    assert engine.on_equity(ns(2024, 1, 9), None, 990_000) == []  # −1 % on the day
    assert engine.on_equity(ns(2024, 1, 10), None, 975_000) == []  # −1.52 % vs 990 000
    [event] = engine.on_equity(ns(2024, 1, 11), None, 955_500)  # −2 % vs 975 000 exactly
    assert event.current is REDUCING and event.threshold_units == 975_000
    [rolled] = engine.on_equity(ns(2024, 1, 12), None, 955_500)
    assert rolled.current is ACTIVE


def test_drawdown_halts_until_rearm() -> None:
    engine, account = make(max_drawdown_pct=10, flatten_on_halt=False)
    t = ns(2024, 1, 9, 10)
    engine.on_equity(t, None, 1_000_000)
    engine.on_equity(t + H, None, 1_100_000)  # peak 1 100 000
    assert engine.on_equity(t + 2 * H, None, 990_001) == []  # 9.9999 % below the peak
    [event] = engine.on_equity(t + 3 * H, None, 990_000)  # 110 000 = 10 % of 1 100 000
    assert (event.current, event.reason, event.threshold_units) == (HALTED,
                                                                    StateReason.DRAWDOWN,
                                                                    1_100_000)
    assert event.cancel_entry_orders and not event.cancel_exit_orders and not event.flatten
    # by default a halt flattens: exits are cancelled and the position is closed
    default, _ = make(max_drawdown_pct=10)
    default.on_equity(t, None, 1_000_000)
    [flat] = default.on_equity(t + H, None, 900_000)
    assert flat.current is HALTED and flat.cancel_exit_orders and flat.flatten
    # the halt outlives the day
    assert engine.on_equity(ns(2024, 1, 12), None, 1_000_000) == []
    assert engine.check(buy(), account, ns(2024, 1, 12)).reason is ReasonCode.HALTED
    account.set_position("s", "X", 5)
    assert engine.check(sell(lots=5), account, ns(2024, 1, 12)).allowed
    change = engine.rearm(None, actor="alice", ts_ns=ns(2024, 1, 12, 1))
    assert change is not None
    assert (change.previous, change.current, change.actor) == (HALTED, ACTIVE, "alice")
    assert engine.check(buy(), account, ns(2024, 1, 12, 1)).allowed
    # the peak restarts at re-arm (1 000 000): 950 000 is 5 % below it, not a new halt
    assert engine.on_equity(ns(2024, 1, 12, 2), None, 950_000) == []
    assert engine.rearm(None, actor="alice", ts_ns=ns(2024, 1, 12, 3)) is None  # not halted


def test_both_limits_on_one_update_and_rearm_keeps_reducing() -> None:
    engine, account = make(max_daily_loss_pct=2, max_drawdown_pct=5, flatten_on_halt=True)
    t = ns(2024, 1, 9, 10)
    engine.on_equity(t, None, 1_000_000)
    events = engine.on_equity(t + H, None, 940_000)  # −6 %: both limits
    assert [(e.previous, e.current) for e in events] == [(ACTIVE, REDUCING),
                                                         (REDUCING, HALTED)]
    assert events[1].flatten and events[1].cancel_exit_orders
    change = engine.rearm(None, actor="bob", ts_ns=t + 2 * H)
    assert change is not None and change.current is REDUCING  # same day: still reducing
    assert not engine.check(buy(), account, t + 2 * H).allowed
    assert engine.check(buy(), account, ns(2024, 1, 10)).allowed


def test_strategy_scopes() -> None:
    engine, account = make(max_drawdown_pct=50,
                           strategies={"risky": RiskOverrides(max_drawdown_pct=10)})
    t = ns(2024, 1, 9, 10)
    engine.on_equity(t, "risky", 100_000)
    [event] = engine.on_equity(t + H, "risky", 90_000)
    assert event.scope == "risky" and event.current is HALTED
    assert "strategy risky" in event.message
    assert engine.state("risky") is HALTED and engine.state(None) is ACTIVE
    assert engine.effective_state("risky") is HALTED
    assert engine.check(buy("risky"), account, t + H).reason is ReasonCode.HALTED
    assert engine.check(buy("calm"), account, t + H).allowed
    # top-level loss limits are the portfolio's, not inherited by strategies
    engine.on_equity(t, "calm", 100_000)
    assert engine.on_equity(t + H, "calm", 10_000) == []
    assert engine.rearm("unknown", actor="x", ts_ns=t) is None


def test_portfolio_halt_blocks_every_strategy() -> None:
    engine, account = make(max_drawdown_pct=10)
    t = ns(2024, 1, 9, 10)
    engine.on_equity(t, None, 1_000_000)
    engine.on_equity(t + H, None, 800_000)
    assert engine.effective_state("anyone") is HALTED
    v = engine.check(buy("anyone"), account, t + H)
    assert v.reason is ReasonCode.HALTED and "portfolio is halted" in v.message


def test_transition_table_is_explicit() -> None:
    assert TRANSITIONS.allowed(HALTED, ACTIVE)
    with pytest.raises(IllegalTransition):
        TRANSITIONS.check(ACTIVE, ACTIVE)
    assert TRANSITIONS.targets(REDUCING) == {ACTIVE, HALTED}


def test_state_change_serialises() -> None:
    engine, _ = make(max_drawdown_pct=10)
    engine.on_equity(0, None, 1_000)
    [event] = engine.on_equity(1, None, 800)
    data = event.to_dict()
    assert data["current"] == "halted" and data["reason"] == "drawdown" and data["scope"] is None


@pytest.mark.parametrize("flatten", [True, False])
def test_an_operator_halt_stops_entries_until_a_rearm(flatten: bool) -> None:
    engine, account = make(flatten_on_halt=flatten)
    t0 = ns(2024, 3, 1, 12)
    change = engine.halt("s", actor="web:alice", ts_ns=t0, note="news")
    assert change is not None and change.current is HALTED
    assert change.reason.value == "operator" and change.actor == "web:alice"
    assert "halted by web:alice (news)" in change.message
    assert change.cancel_entry_orders and change.flatten is flatten
    assert engine.halt("s", actor="web:alice", ts_ns=t0) is None  # already halted
    assert engine.check(buy(), account, t0).status is VerdictStatus.REJECTED
    assert engine.effective_state("other") is ACTIVE  # one strategy's switch only
    back = engine.rearm("s", actor="ops", ts_ns=t0 + H)
    assert back is not None and back.current is ACTIVE
    assert engine.check(buy(), account, t0 + H).status is not VerdictStatus.REJECTED


def test_halt_requests_round_trip_and_bad_lines_are_named(tmp_path: Any) -> None:
    from trading_strategy.core.errors import ConfigError
    from trading_strategy.risk.commands import HaltRequest
    from trading_strategy.runtime.rearm import read_halt_requests, record_halt_request

    request = HaltRequest("demo", "sma_goog", "web:alice", 5, "news")
    path = record_halt_request(tmp_path, request)
    assert read_halt_requests(tmp_path) == [request]
    with path.open("a") as fh:
        fh.write('{"command": "halt", "session": "", "actor": "x", "ts_ns": 1}\n')
    with pytest.raises(ConfigError, match=r"halt-requests.jsonl:2: session must be"):
        read_halt_requests(tmp_path)
