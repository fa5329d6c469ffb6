"""What a strategy declares for the fast path, and its check.

A strategy opts in with a classmethod next to its ``on_bar``::

    @classmethod
    def fast_signals(cls, params, open, high, low, close, volume, ind=indicators
                     ) -> dict[str, ndarray]

called with its parsed parameters and the bars' float columns, returning boolean arrays (one
value per bar, computed with the same ``strategies.indicators`` functions as its ``on_bar``,
called through ``ind``) under any of these keys (a missing key is never on):

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

The fast path passes ``ind=IndicatorMemo(...)``: the module's own functions, each result on
the bars' columns computed once per sweep (a 10 × 10 grid of two averages needs 20 of
them, not 200). The arrays it returns are shared, hence read-only.

A subclass that overrides a lifecycle hook (``on_start``, ``on_bar``, ...) below the class
that declared ``fast_signals`` behaves differently from the declaration: it is not eligible.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from types import FunctionType, ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.instrument import Instrument
from trading_strategy.research.fastpath.codes import (
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


class IndicatorMemo:
    """``strategies.indicators`` with a memory: a call whose arrays are all columns of the
    bars (by identity) and whose other arguments are hashable returns the result of the
    first such call, made read-only; any other call goes straight to the module. The last
    ``size`` results are kept. Thread-safe (a race computes a result twice, harmlessly)."""

    def __init__(self, module: ModuleType, columns: tuple[npt.NDArray[np.float64], ...],
                 size: int = 32) -> None:
        self._module = module
        self._columns = columns
        self._size = size
        self._results: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
             ) -> Hashable | None:
        parts: list[Hashable] = [name]
        labelled: list[tuple[str | None, Any]] = [(None, a) for a in args]
        for label, value in [*labelled, *sorted(kwargs.items())]:
            if isinstance(value, np.ndarray):
                at = next((k for k, c in enumerate(self._columns) if c is value), None)
                if at is None:
                    return None
                parts.append((label, "column", at))
            elif value is None or isinstance(value, int | float | str):
                # the type too: 1, 1.0 and True hash alike
                parts.append((label, type(value).__name__, value))
            else:
                return None
        return tuple(parts)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._module, name)
        if not isinstance(target, FunctionType):
            return target  # constants, and classes (stateful incremental forms) as they are

        def memo(*args: Any, **kwargs: Any) -> Any:
            key = self._key(name, args, kwargs)
            if key is None:
                return target(*args, **kwargs)
            with self._lock:
                if key in self._results:
                    self._results.move_to_end(key)
                    return self._results[key]
            result = _read_only(target(*args, **kwargs))
            with self._lock:
                self._results[key] = result
                while len(self._results) > self._size:
                    self._results.popitem(last=False)
            return result

        fn: Callable[..., Any] = memo
        return fn


def _read_only(result: Any) -> Any:
    for array in (result if isinstance(result, tuple) else (result,)):
        if isinstance(array, np.ndarray):
            array.setflags(write=False)
    return result


def signals(strategy: type[Strategy], params: StrategyParams, bars: BarSeries,
            columns: tuple[npt.NDArray[np.float64], ...] | None = None,
            memo: IndicatorMemo | None = None
            ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """``(flags, stop ticks)`` per bar from the strategy's declaration (``memo``: the
    sweep's indicator memory, else the plain module): the kernel's bit flags, and the stop
    of a long entry in ticks (0: none; -1: a price the engine refuses). Raises
    ``DeclarationError`` for a malformed answer."""
    n = len(bars)
    declared = strategy.fast_signals  # type: ignore[attr-defined]
    columns = columns or bar_columns(bars)
    raw: Any = (declared(params, *columns) if memo is None
                else declared(params, *columns, ind=memo))
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
