"""Slippage models for a driver that sees one bar at a time (the paper venue).

``kernel.costs`` binds a slippage model to a whole ``BarSeries`` (the backtest has every bar
up front). A live venue only has the bars so far, so the models that need history keep it
here, incrementally, and give the same ticks as the bound model over the same bars:

* ``AtrSlippage``: ``multiple × ATR(period)`` as of the *previous* bar's close, rounded up to
  a whole tick (float noise rounded away at 1e-9 tick first), 0 while the ATR is not seeded.
  The ATR is Wilder's, updated bar by bar (``indicators.ATR``: bit-identical to the
  vectorized ``indicators.atr`` the backtest uses). The history starts with the first bar
  the driver sees: after a restart it is rebuilt from the bars that follow.
"""

from __future__ import annotations

import math

import numpy as np

from trading_strategy.core.instrument import Instrument
from trading_strategy.kernel.costs import AtrSlippage
from trading_strategy.strategies.indicators import ATR

__all__ = ["IncrementalAtrSlippage"]


class IncrementalAtrSlippage:
    """A ``SlippageFn`` for ``AtrSlippage`` fed bar by bar: call it to match a bar, then
    ``update`` it with that bar."""

    __slots__ = ("_atr", "_before", "_multiple", "_repeat", "_tick", "_ticks")

    def __init__(self, model: AtrSlippage, instrument: Instrument) -> None:
        self._atr = ATR(model.period)
        self._multiple = float(model.multiple)
        self._tick = float(instrument.tick_size)
        self._ticks = 0
        #: the ticks that priced the bar last given to ``update``
        self._before = 0
        self._repeat = False

    def __call__(self, sign: int, ref: int, i: int) -> int:
        return self._before if self._repeat else self._ticks

    def update(self, high: float, low: float, close: float) -> None:
        """The bar just matched: its ATR prices the next bar's fills."""
        value = self._atr.update(high, low, close)
        raw = (0.0 if math.isnan(value) else value) * self._multiple / self._tick
        self._before = self._ticks
        # the same operations, in the same order, as AtrSlippage.bind over an array
        self._ticks = int(np.ceil(np.round(np.float64(raw), 9)))

    def repeat_last_bar(self, repeat: bool) -> None:
        """``True`` while the bar last given to ``update`` is matched again (the paper
        venue's second feed, for exits attached at its open): its fills are priced as the
        bar's first feed was, by the ATR up to the bar before, as the backtest prices them."""
        self._repeat = repeat
