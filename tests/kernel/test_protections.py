"""The kernel's protections, by hand: brackets at the fill, trailing moves, time exits, the
actions of a trading-state change, and the incremental ATR against the vectorized one."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from trading_strategy.core.enums import Side
from trading_strategy.core.orders import Bracket
from trading_strategy.kernel.protections import (
    AtrTracker,
    Protections,
    RestingOrder,
    StateActions,
    state_actions,
)
from trading_strategy.risk import StateReason, StopRules, TradingState, TradingStateChange
from trading_strategy.strategies import indicators

_DAY = 86_400 * 10**9


def test_the_strategys_own_bracket_wins_over_the_settings() -> None:
    rules = Protections(StopRules(stop_loss_pct=2))
    own = Bracket(stop_loss=9_000, take_profit=None)
    assert rules.bracket(Side.BUY, 10_050, None, own) == own
    # an empty own bracket is no bracket: the settings apply
    assert rules.bracket(Side.BUY, 10_050, None, Bracket(None, None)) == Bracket(9_849, None)


def test_fixed_pct_and_atr_brackets_at_the_fill_price() -> None:
    # long at 10 050, 2 %: distance floor(201.0) = 201 → 9 849; target 3 %: ceil(301.5) = 302
    pct = Protections(StopRules(stop_loss_pct=2, take_profit_pct=3))
    assert pct.bracket(Side.BUY, 10_050, None) == Bracket(9_849, 10_352)
    assert pct.bracket(Side.SELL, 10_050, None) == Bracket(10_251, 9_748)
    # ATR 12.5 ticks: stop 2 ATR → floor(25) below, target 3 ATR → ceil(37.5) = 38 above
    atr = Protections(StopRules(stop_loss_atr_multiple=2, take_profit_atr_multiple=3))
    assert atr.bracket(Side.BUY, 1_000, 12.5) == Bracket(975, 1_038)
    assert atr.bracket(Side.BUY, 1_000, None) is None  # no ATR yet: nothing to attach
    # a trailing rule alone gives the initial stop at its distance
    trail = Protections(StopRules(trailing_stop_pct=10))
    assert trail.bracket(Side.BUY, 10_000, None) == Bracket(9_000, None)
    assert Protections(StopRules()).bracket(Side.BUY, 10_000, None) is None


def test_trailing_moves_only_in_the_positions_favour() -> None:
    rules = Protections(StopRules(trailing_stop_pct=3))
    # long, stop 9 800, high 10 400: 10 400 − floor(312) = 10 088
    assert rules.trail(Side.BUY, 9_800, 10_400, 10_000, None) == 10_088
    assert rules.trail(Side.BUY, 10_088, 10_300, 10_000, None) is None  # would loosen
    # short, stop 10 300, low 9 800: 9 800 + floor(294) = 10 094
    assert rules.trail(Side.SELL, 10_300, 10_100, 9_800, None) == 10_094
    atr = Protections(StopRules(trailing_stop_atr_multiple=2))
    assert atr.trail(Side.BUY, 900, 1_000, 950, 10.4) == 980  # 1 000 − floor(20.8)
    assert atr.trail(Side.BUY, 900, 1_000, 950, None) is None  # no ATR: it stays
    assert Protections(StopRules(stop_loss_pct=1)).trail(Side.BUY, 900, 2_000, 1_900,
                                                         None) is None


def test_time_exit_by_bars_or_duration() -> None:
    bars = Protections(StopRules(time_exit_bars=3))
    assert not bars.time_exit_due(entry_bar=1, bar=3, entry_ts_ns=0, ts_ns=0)
    assert bars.time_exit_due(entry_bar=1, bar=4, entry_ts_ns=0, ts_ns=0)
    timed = Protections(StopRules(time_exit_ns=2 * _DAY))
    assert not timed.time_exit_due(entry_bar=0, bar=9, entry_ts_ns=_DAY, ts_ns=2 * _DAY)
    assert timed.time_exit_due(entry_bar=0, bar=1, entry_ts_ns=_DAY, ts_ns=3 * _DAY)
    assert not Protections(StopRules()).time_exit_due(entry_bar=0, bar=10**6, entry_ts_ns=0,
                                                      ts_ns=10**18)


def _change(state: TradingState, *, entries: bool, exits: bool,
            flatten: bool) -> TradingStateChange:
    return TradingStateChange(None, TradingState.ACTIVE, state, StateReason.DRAWDOWN, "", 0,
                              cancel_entry_orders=entries, cancel_exit_orders=exits,
                              flatten=flatten)


# long 10: an entry, a bracket stop, a reduce-only close, and a plain sell that only shrinks
_ORDERS = [
    RestingOrder("entry", Side.BUY, 5, False, False, 10),
    RestingOrder("stop", Side.SELL, 10, True, True, 10),
    RestingOrder("close", Side.SELL, 10, True, False, 10),
    RestingOrder("trim", Side.SELL, 4, False, False, 10),
    RestingOrder("flip", Side.SELL, 15, False, False, 10),  # reverses: an entry
]


def test_reducing_cancels_entries_and_keeps_exits() -> None:
    change = _change(TradingState.REDUCING, entries=True, exits=False, flatten=False)
    assert state_actions(change, _ORDERS) == StateActions(("entry", "flip"), False)


def test_a_flattening_halt_cancels_everything_then_flattens() -> None:
    change = _change(TradingState.HALTED, entries=True, exits=True, flatten=True)
    assert state_actions(change, _ORDERS) == StateActions(
        ("entry", "stop", "close", "trim", "flip"), True)
    keep = _change(TradingState.HALTED, entries=True, exits=False, flatten=False)
    assert state_actions(keep, _ORDERS) == StateActions(("entry", "flip"), False)


def test_a_return_to_active_requires_nothing() -> None:
    change = _change(TradingState.ACTIVE, entries=True, exits=True, flatten=True)
    assert state_actions(change, _ORDERS) == StateActions()


def test_the_incremental_atr_is_the_vectorized_one() -> None:
    rng = np.random.default_rng(7)
    close = 100 + np.cumsum(rng.normal(0, 1, 500))
    high = close + rng.uniform(0, 2, 500)
    low = close - rng.uniform(0, 2, 500)
    vectorized = indicators.atr(high, low, close, 14)
    tracker = AtrTracker(14, Decimal("0.01"))
    seen = []
    for i in range(500):
        tracker.update(i, float(high[i]), float(low[i]), float(close[i]))
        tracker.update(i, 1e9, -1e9, 0.0)  # the same bar again is not counted twice
        seen.append(tracker.value)
        if i < 13:
            assert tracker.ticks is None
        else:
            assert tracker.ticks == vectorized[i] / 0.01
    assert np.array_equal(np.asarray(seen)[13:], vectorized[13:])  # bit for bit
    assert all(math.isnan(v) for v in seen[:13])
