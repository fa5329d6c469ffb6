"""Every protection of a position, per strategy, for every driver (pure).

* ``Protections.bracket``: the exits of an entry filled at a price — the strategy's own
  bracket first, else the risk settings' fixed-% or ATR stop and take-profit (a trailing
  rule alone gives the initial stop), with the ATR known at the fill (the previous bar's).
* ``Protections.trail``: the new price of an open stop exit after a bar, from the bar's
  high/low and the ATR after that bar; effective from the next bar (``risk.stop_loss``).
* ``Protections.time_exit_due``: whether a position held since a bar must be closed now.
* ``state_actions``: what a trading-state change requires of the open orders (which to
  cancel) and of the position (flatten or not).
* ``AtrTracker``: the ATR of one instrument's bars, O(1) per bar — what a session keeps;
  a backtest may read its precomputed column instead (both give the same floats).

The backtest's ``RiskGate`` and the session's ``Execution`` call these; neither keeps a copy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from trading_strategy.core.enums import Side
from trading_strategy.core.orders import Bracket
from trading_strategy.risk import (
    StopRules,
    TradingState,
    TradingStateChange,
    atr_in_ticks,
    bracket_for_entry,
    time_exit_due,
    update_trailing,
)
from trading_strategy.strategies.indicators import ATR


class Protections:
    """One strategy's stop rules, applied to its entries and positions."""

    __slots__ = ("_no_exits", "rules")

    def __init__(self, rules: StopRules) -> None:
        self.rules = rules
        #: no stop, trailing stop or target configured: no entry gets exits from the rules
        #: (``bracket`` answers at once; it is asked at every entry fill)
        self._no_exits = all(v is None for v in (
            rules.stop_loss_pct, rules.stop_loss_atr_multiple, rules.take_profit_pct,
            rules.take_profit_atr_multiple, rules.trailing_stop_pct,
            rules.trailing_stop_atr_multiple))

    @property
    def needs_atr(self) -> bool:
        return self.rules.needs_atr

    @property
    def has_trailing(self) -> bool:
        return self.rules.has_trailing

    @property
    def has_time_exit(self) -> bool:
        return self.rules.has_time_exit

    @property
    def atr_period(self) -> int:
        return self.rules.atr_period

    def bracket(self, side: Side, fill_ticks: int, atr_ticks: float | None,
                own: Bracket | None = None) -> Bracket | None:
        """The exits of an entry on ``side`` filled at ``fill_ticks``: ``own`` (the
        strategy's bracket) when it has one, else the configured stops; ``None`` when there
        are none, or an ATR rule has no ATR yet (the gate refuses such entries up front)."""
        if own is not None and (own.stop_loss is not None or own.take_profit is not None):
            return own
        if self._no_exits:
            return None
        try:
            return bracket_for_entry(self.rules, side, fill_ticks, atr_ticks)
        except ValueError:
            return None

    def trail(self, entry_side: Side, stop_ticks: int, high_ticks: int, low_ticks: int,
              atr_ticks: float | None) -> int | None:
        """The stop exit's new price after a bar, or ``None`` when it stays put (no
        trailing rule, no ATR yet, or the bar did not move it in the position's favour)."""
        moved = update_trailing(self.rules, entry_side, stop_ticks, high_ticks, low_ticks,
                                atr_ticks)
        return None if moved is None or moved == stop_ticks else moved

    def time_exit_due(self, *, entry_bar: int, bar: int, entry_ts_ns: int, ts_ns: int) -> bool:
        """Whether a position entered on ``entry_bar`` must be closed on ``bar``."""
        rules = self.rules
        if not rules.has_time_exit:
            return False
        return time_exit_due(entry_bar=entry_bar, bar=bar, entry_ts_ns=entry_ts_ns,
                             ts_ns=ts_ns, max_bars=rules.time_exit_bars,
                             max_duration_ns=rules.time_exit_ns)


class RestingOrder(NamedTuple):
    """An open order as a trading-state change judges it."""

    order_id: str
    side: Side
    remaining_lots: int
    reduce_only: bool
    #: a stop-loss/take-profit leg attached to an entry
    protective: bool
    #: the position (lots) of the order's strategy in the order's symbol
    position: int


@dataclass(frozen=True, slots=True)
class StateActions:
    """What a trading-state change requires: the orders to cancel, and whether to flatten
    the scope's positions (with reduce-only market orders, after the cancels)."""

    cancel: tuple[str, ...] = ()
    flatten: bool = False


def is_exit(order: RestingOrder) -> bool:
    """An exit by its effect: reduce-only, a bracket leg, or an order that only shrinks its
    strategy's position (whatever its flags say)."""
    position = order.position
    shrinks = position != 0 and (order.side is Side.SELL) == (position > 0) \
        and order.remaining_lots <= abs(position)
    return order.reduce_only or order.protective or shrinks


def state_actions(change: TradingStateChange, orders: Iterable[RestingOrder]) -> StateActions:
    """REDUCING and HALTED cancel entries; a halt with ``flatten_on_halt`` also cancels the
    exits and flattens. A return to ACTIVE (a re-arm, a new day) lets trading resume and
    requires nothing. ``orders``: the open orders of the change's scope."""
    if change.current is TradingState.ACTIVE:
        return StateActions()
    cancel = tuple(o.order_id for o in orders
                   if (change.cancel_exit_orders if is_exit(o) else change.cancel_entry_orders))
    return StateActions(cancel, change.flatten)


class AtrTracker:
    """Wilder's ATR of one instrument's bars, updated in O(1) per bar (``indicators.ATR``:
    the same floats as the vectorized ``indicators.atr`` a backtest precomputes)."""

    __slots__ = ("_atr", "_tick", "last_ts")

    def __init__(self, period: int, tick_size: Decimal) -> None:
        self._atr = ATR(period)
        self._tick = tick_size
        #: the last bar counted (a bar seen twice counts once)
        self.last_ts = -1

    def update(self, ts_ns: int, high: float, low: float, close: float) -> None:
        if ts_ns <= self.last_ts:
            return
        self.last_ts = ts_ns
        self._atr.update(high, low, close)

    @property
    def value(self) -> float:
        """The ATR in price units after the last bar (NaN while warming up)."""
        return self._atr.value

    @property
    def ticks(self) -> float | None:
        """The ATR in ticks after the last bar; ``None`` while warming up."""
        value = self._atr.value
        return None if math.isnan(value) else atr_in_ticks(value, self._tick)
