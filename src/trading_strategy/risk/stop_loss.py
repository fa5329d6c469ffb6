"""Stops: stop-loss, take-profit, trailing and time exits, as prices in ticks (pure).

Rounding is chosen so the configured risk is never exceeded: a stop's distance from the entry
is rounded *down* to whole ticks (the stop sits at or inside the configured distance, so the
loss at the stop is at most the configured one), and a take-profit's distance is rounded *up*
(the gain is at least the configured one). A stop is never closer than one tick (a stop at the
entry price would trigger at once) and never below 0.

ATR values are given in ticks as floats (``atr_price / tick_size``; see ``atr_in_ticks``):
indicator maths is float, the resulting price is an exact integer.

Trailing stops move only in the position's favour. Update them with a bar's high/low *after*
the bar closed, effective from the next bar: within one OHLC bar it is unknown whether the
high came before the low, so tightening on a bar's own high and then testing the same bar's
low would assume a favourable order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from trading_strategy.core.enums import Side
from trading_strategy.core.orders import Bracket
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.risk._units import PPM, pct_to_ppm
from trading_strategy.risk.settings import EffectiveRisk


def atr_in_ticks(atr: float, tick_size: Decimal) -> float | None:
    """An ATR in price units as ticks; ``None`` while the ATR is not usable (NaN, <= 0)."""
    if not math.isfinite(atr) or atr <= 0:
        return None
    return atr / float(tick_size)


def _stop_from_distance(side: Side, entry_ticks: int, distance: int) -> int:
    distance = max(distance, 1)
    if side is Side.BUY:  # long entry: the stop is below
        return max(entry_ticks - distance, 0)
    return entry_ticks + distance


def _target_from_distance(side: Side, entry_ticks: int, distance: int) -> int:
    distance = max(distance, 1)
    if side is Side.BUY:
        return entry_ticks + distance
    return max(entry_ticks - distance, 0)


def fixed_pct_stop(side: Side, entry_ticks: int, pct: float) -> int:
    """Stop ``pct`` % from the entry: long ``entry − floor(entry × pct / 100)``, short ``+``.

    E.g. long at 10 050 ticks, 2 %: distance floor(201.0) = 201 → stop 9 849.
    ``side`` is the entry's side.
    """
    return _stop_from_distance(side, entry_ticks, entry_ticks * pct_to_ppm(pct) // PPM)


def atr_stop(side: Side, entry_ticks: int, atr_ticks: float, multiple: float) -> int:
    """Stop ``multiple`` ATRs from the entry: distance ``floor(atr × multiple)`` ticks."""
    return _stop_from_distance(side, entry_ticks, math.floor(atr_ticks * multiple))


def fixed_pct_take_profit(side: Side, entry_ticks: int, pct: float) -> int:
    """Take-profit ``pct`` % from the entry, distance rounded up: ``ceil(entry × pct / 100)``."""
    return _target_from_distance(side, entry_ticks, -(-entry_ticks * pct_to_ppm(pct) // PPM))


def atr_take_profit(side: Side, entry_ticks: int, atr_ticks: float, multiple: float) -> int:
    """Take-profit ``multiple`` ATRs from the entry, distance ``ceil(atr × multiple)``."""
    return _target_from_distance(side, entry_ticks, math.ceil(atr_ticks * multiple))


def trail_stop(
    side: Side,
    current_stop: int | None,
    bar_high: int,
    bar_low: int,
    *,
    pct: float | None = None,
    atr_ticks: float | None = None,
    atr_multiple: float | None = None,
) -> int:
    """The trailing stop after a bar: for a long, ``max(current, high − distance)`` with the
    distance ``floor(high × pct / 100)`` or ``floor(atr × multiple)``; shorts mirror it with the
    low. Never loosens. ``side`` is the entry's side; give ``pct`` or the ATR pair.

    E.g. long, stop 9 800, bar high 10 400, 3 %: 10 400 − 312 = 10 088 > 9 800 → 10 088.
    """
    extreme = bar_high if side is Side.BUY else bar_low
    if pct is not None:
        distance = extreme * pct_to_ppm(pct) // PPM
    elif atr_ticks is not None and atr_multiple is not None:
        distance = math.floor(atr_ticks * atr_multiple)
    else:
        raise ValueError("trail_stop needs pct, or atr_ticks and atr_multiple")
    candidate = _stop_from_distance(side, extreme, distance)
    if current_stop is None:
        return candidate
    return max(current_stop, candidate) if side is Side.BUY else min(current_stop, candidate)


def time_exit_due(
    *,
    entry_bar: int,
    bar: int,
    entry_ts_ns: int,
    ts_ns: int,
    max_bars: int | None = None,
    max_duration_ns: int | None = None,
) -> bool:
    """True once the position was held ``max_bars`` bars (``bar − entry_bar >= max_bars``) or
    ``max_duration_ns`` (``ts − entry_ts >= duration``), whichever comes first."""
    if max_bars is not None and bar - entry_bar >= max_bars:
        return True
    return max_duration_ns is not None and ts_ns - entry_ts_ns >= max_duration_ns


@dataclass(frozen=True, slots=True)
class StopRules:
    """One strategy's stop settings, ready to apply to entries."""

    stop_loss_pct: float | None = None
    stop_loss_atr_multiple: float | None = None
    take_profit_pct: float | None = None
    take_profit_atr_multiple: float | None = None
    trailing_stop_pct: float | None = None
    trailing_stop_atr_multiple: float | None = None
    time_exit_bars: int | None = None
    time_exit_ns: int | None = None
    atr_period: int = 14

    @classmethod
    def from_settings(cls, eff: EffectiveRisk) -> StopRules:
        duration = None
        if eff.time_exit_after is not None:
            duration = Timeframe.parse(eff.time_exit_after).nanoseconds
        return cls(
            eff.stop_loss_pct,
            eff.stop_loss_atr_multiple,
            eff.take_profit_pct,
            eff.take_profit_atr_multiple,
            eff.trailing_stop_pct,
            eff.trailing_stop_atr_multiple,
            eff.time_exit_bars,
            duration,
            eff.atr_period,
        )

    @property
    def needs_atr(self) -> bool:
        """True when an entry's bracket cannot be computed without an ATR."""
        return (self.stop_loss_atr_multiple is not None
                or self.take_profit_atr_multiple is not None
                or self.trailing_stop_atr_multiple is not None)

    @property
    def has_trailing(self) -> bool:
        return self.trailing_stop_pct is not None or self.trailing_stop_atr_multiple is not None

    @property
    def has_time_exit(self) -> bool:
        return self.time_exit_bars is not None or self.time_exit_ns is not None


def bracket_for_entry(
    rules: StopRules, side: Side, entry_ticks: int, atr_ticks: float | None = None
) -> Bracket | None:
    """The stop-loss and take-profit to attach to an entry, or ``None`` when no stop rule is
    configured. When a trailing rule is set and no fixed stop is, the initial stop is the
    trailing distance from the entry.

    Raises ``ValueError`` when an ATR rule is configured and ``atr_ticks`` is None: refuse the
    entry then (an entry must not go out without the stop the settings promise); check
    ``rules.needs_atr`` first.
    """
    if rules.needs_atr and atr_ticks is None:
        raise ValueError("an ATR-based stop is configured but the ATR is not available yet")
    stop: int | None = None
    if rules.stop_loss_pct is not None:
        stop = fixed_pct_stop(side, entry_ticks, rules.stop_loss_pct)
    elif rules.stop_loss_atr_multiple is not None and atr_ticks is not None:
        stop = atr_stop(side, entry_ticks, atr_ticks, rules.stop_loss_atr_multiple)
    elif rules.trailing_stop_pct is not None:
        stop = fixed_pct_stop(side, entry_ticks, rules.trailing_stop_pct)
    elif rules.trailing_stop_atr_multiple is not None and atr_ticks is not None:
        stop = atr_stop(side, entry_ticks, atr_ticks, rules.trailing_stop_atr_multiple)
    target: int | None = None
    if rules.take_profit_pct is not None:
        target = fixed_pct_take_profit(side, entry_ticks, rules.take_profit_pct)
    elif rules.take_profit_atr_multiple is not None and atr_ticks is not None:
        target = atr_take_profit(side, entry_ticks, atr_ticks, rules.take_profit_atr_multiple)
    if stop is None and target is None:
        return None
    return Bracket(stop_loss=stop, take_profit=target)


def update_trailing(
    rules: StopRules,
    side: Side,
    current_stop: int | None,
    bar_high: int,
    bar_low: int,
    atr_ticks: float | None = None,
) -> int | None:
    """Apply the strategy's trailing rule after a bar (``None`` if it has none, or an ATR rule
    without an ATR yet: the stop then stays where it is)."""
    if rules.trailing_stop_pct is not None:
        return trail_stop(side, current_stop, bar_high, bar_low, pct=rules.trailing_stop_pct)
    if rules.trailing_stop_atr_multiple is not None and atr_ticks is not None:
        return trail_stop(side, current_stop, bar_high, bar_low, atr_ticks=atr_ticks,
                          atr_multiple=rules.trailing_stop_atr_multiple)
    return current_stop if rules.has_trailing else None
