"""A small kit for testing strategies: hand-made bars and scripted strategies.

Used by this project's tests and meant for users' own strategy tests::

    from trading_strategy.backtesting.runner import run_backtest
    from trading_strategy.backtesting.settings import BacktestSettings

    bars = make_bars([10, 11, 12, 11, 10])
    result = run_backtest(MyStrategy, bars, BacktestSettings(), allow_short_history=True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import numpy as np

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.strategies.base import Strategy, StrategyParams
from trading_strategy.strategies.context import Context


def make_bars(
    close: Sequence[float],
    *,
    open: Sequence[float] | None = None,
    high: Sequence[float] | None = None,
    low: Sequence[float] | None = None,
    volume: Sequence[float] | None = None,
    start: str = "2020-01-01",
    timeframe: str = "1d",
    symbol: str = "TEST",
    tick_size: str = "0.01",
    lot_size: str = "1",
    calendar: Calendar = Calendar.ALWAYS,
) -> BarSeries:
    """Bars at a fixed spacing from ``start`` (UTC). Missing columns default to the close
    (open: the previous close; high/low: the max/min of open and close)."""
    c = np.asarray(close, dtype=np.float64)
    o = np.asarray(open, dtype=np.float64) if open is not None else np.concatenate((c[:1], c[:-1]))
    h = np.asarray(high, dtype=np.float64) if high is not None else np.maximum(o, c)
    lo = np.asarray(low, dtype=np.float64) if low is not None else np.minimum(o, c)
    v = np.asarray(volume, dtype=np.float64) if volume is not None else np.full(len(c), 1e6)
    tf = Timeframe.parse(timeframe)
    t0 = np.datetime64(start, "ns").astype(np.int64)
    ts = t0 + np.arange(len(c), dtype=np.int64) * tf.nanoseconds
    instrument = Instrument(symbol, tick_size=Decimal(tick_size), lot_size=Decimal(lot_size),
                            asset_class=AssetClass.CRYPTO, calendar=calendar)
    return BarSeries(instrument, tf, ts, o, h, lo, c, v)


def scripted(
    on_bar: Callable[[Context, int], None],
    *,
    name: str = "scripted",
    on_start: Callable[[Context], None] | None = None,
) -> type[Strategy]:
    """A strategy class whose ``on_bar`` calls ``on_bar(ctx, bar_index)``."""

    class Scripted(Strategy):
        Params = StrategyParams

        def on_start(self) -> None:
            self.events: list[object] = []
            if on_start is not None:
                on_start(self.ctx)

        def on_bar(self) -> None:
            on_bar(self.ctx, self.ctx.bar_index)

        def on_fill(self, fill: object) -> None:
            self.events.append(fill)

        def on_order_event(self, event: object) -> None:
            self.events.append(event)

    Scripted.name = name
    return Scripted
