"""What a strategy declares for the fast path, and its check.

A strategy opts in with a classmethod next to its ``on_bar``::

    @classmethod
    def fast_signals(cls, params, open, high, low, close, volume) -> dict[str, ndarray]

called with its parsed parameters and the bars' float columns, returning boolean arrays (one
value per bar, computed with the same ``strategies.indicators`` functions as its ``on_bar``)
under any of these keys (a missing key is never on):

* ``long_entry``: buy with the run's default size when not already long;
* ``long_exit``: close a long position;
* ``short_entry``: sell with the run's default size when not already short;
* ``short_exit``: close a short position;

and, optionally, ``stop_loss``: float prices (NaN: none) attached to a long entry as its
protective stop (``ctx.buy(stop_loss=...)``).

On each bar's close the fast path first closes (an exit signal for the side held), then
enters (an entry signal for the other side, or flat), judging "held" by the booked position
as ``ctx.is_long``/``ctx.is_short`` do; ``long_entry`` and ``short_entry`` are never on
together. That is the strategy's whole ``on_bar`` in a form numba can run: the equality tests
of ``tests/research/test_fastpath*.py`` run both on every built-in strategy.

A subclass that overrides a lifecycle hook (``on_start``, ``on_bar``, ...) below the class
that declared ``fast_signals`` behaves differently from the declaration: it is not eligible.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.instrument import Instrument
from trading_strategy.research.fastpath.kernel import (
    LONG_ENTRY,
    LONG_EXIT,
    SHORT_ENTRY,
    SHORT_EXIT,
)
from trading_strategy.strategies.base import Strategy, StrategyParams

FLAGS = {"long_entry": LONG_ENTRY, "long_exit": LONG_EXIT, "short_entry": SHORT_ENTRY,
         "short_exit": SHORT_EXIT}
KEYS = frozenset(FLAGS) | {"stop_loss"}

#: hooks whose override changes what the strategy does (a subclass overriding one of them
#: below the declaring class is not what the declaration describes)
HOOKS = ("on_start", "on_bar", "on_fill", "on_order_event", "on_stop", "on_data_stale",
         "on_data_restored", "fast_signals")


class DeclarationError(ValueError):
    """The strategy's ``fast_signals`` returned something the fast path cannot use."""


def declaring_class(strategy: type[Strategy]) -> type[Strategy] | None:
    """The class whose ``fast_signals`` applies to ``strategy``, or None (not declared, or a
    subclass overrides a lifecycle hook below it)."""
    mro = strategy.__mro__
    owner = next((c for c in mro if "fast_signals" in vars(c)), None)
    if owner is None or not callable(getattr(strategy, "fast_signals", None)):
        return None
    below = mro[:mro.index(owner)]
    if any(hook in vars(c) for c in below for hook in HOOKS):
        return None
    return owner


def bar_columns(bars: BarSeries) -> tuple[npt.NDArray[np.float64], ...]:
    return bars.open, bars.high, bars.low, bars.close, bars.volume


def signals(strategy: type[Strategy], params: StrategyParams, bars: BarSeries,
            columns: tuple[npt.NDArray[np.float64], ...] | None = None
            ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """``(flags, stop ticks)`` per bar from the strategy's declaration: the kernel's bit
    flags, and the stop of a long entry in ticks (0: none; -1: a price the engine refuses).
    Raises ``DeclarationError`` for a malformed answer."""
    n = len(bars)
    raw: Any = strategy.fast_signals(params, *(columns or bar_columns(bars)))  # type: ignore[attr-defined]
    if not isinstance(raw, Mapping):
        raise DeclarationError(f"{strategy.name}.fast_signals returned {type(raw).__name__}, "
                               "expected a dict of arrays")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise DeclarationError(f"{strategy.name}.fast_signals: unknown keys {unknown}")
    flags = np.zeros(n, dtype=np.int8)
    for key, bit in FLAGS.items():
        if key in raw:
            flags |= _column(strategy, key, raw[key], n, np.bool_).astype(np.int8) * np.int8(bit)
    if np.any((flags & LONG_ENTRY) & ((flags & SHORT_ENTRY) >> 2)):
        raise DeclarationError(f"{strategy.name}.fast_signals: long_entry and short_entry "
                               "are both on at one bar")
    stops = np.zeros(n, dtype=np.int64)
    if "stop_loss" in raw:
        prices = _column(strategy, "stop_loss", raw["stop_loss"], n, np.float64)
        at = np.flatnonzero((flags & LONG_ENTRY) != 0)
        stops[at] = stop_ticks(prices[at], bars.instrument)
    return flags, stops


def _column(strategy: type[Strategy], key: str, value: Any, n: int,
            dtype: type[np.generic]) -> npt.NDArray[Any]:
    array = np.asarray(value)
    if array.shape != (n,):
        raise DeclarationError(f"{strategy.name}.fast_signals: {key} has shape "
                               f"{array.shape}, expected ({n},)")
    return array.astype(dtype, copy=False)


def stop_ticks(prices: npt.NDArray[np.float64], instrument: Instrument
               ) -> npt.NDArray[np.int64]:
    """``kernel.intents.price_ticks`` of each stop price (``Instrument.to_ticks``: the
    decimal value of the float, half to even), vectorized: a quotient close to a half tick
    goes through the exact decimal rule. NaN and prices <= 0 are no stop (0), as the
    strategy passes none; a positive price under one tick is -1 (the engine refuses it)."""
    out = np.zeros(len(prices), dtype=np.int64)
    given = np.isfinite(prices) & (prices > 0)
    if not given.any():
        return out
    tick = float(instrument.tick_size)
    x = prices[given] / tick
    ticks = np.rint(x)
    frac = x - np.floor(x)
    # float error of the quotient is a few ulps of x: near a half, decide exactly
    close_call = np.abs(frac - 0.5) < 1e-6 + np.abs(x) * 1e-14
    exact = ticks.astype(np.int64)
    for k in np.flatnonzero(close_call):
        exact[k] = instrument.to_ticks(float(prices[given][k]))
    exact[exact <= 0] = -1
    out[given] = exact
    return out
