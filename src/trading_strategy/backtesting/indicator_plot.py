"""Which of a strategy's indicators a report plots, and where: over the price or below it.

After a run the strategy context holds every indicator it declared, in order, with its
output series and the ``plot=`` hint of ``ctx.indicator`` (``Context.indicators``).

Placement: an explicit hint wins (``"overlay"``, ``"panel"``, ``False`` to hide); the
built-in oscillators (RSI, ATR) get a panel and crossover signals are not plotted; any
other series goes over the price when it lives on the price's scale (its typical distance
to the close is small next to the price's own range), else in a panel of its own. The
outputs of one indicator (Bollinger's three lines, a custom MACD's two) share a panel.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from trading_strategy.strategies.context import Context, DeclaredIndicator

__all__ = ["OVERLAY", "PlotSeries", "classify_panel", "plottable_indicators"]

FloatArray = NDArray[np.float64]
OVERLAY = "overlay"

# Built-ins whose scale is known from the name alone: no guessing from the values.
_ALWAYS_PANEL = ("rsi(", "atr(")
_NEVER_PLOT = ("crossover(",)
# The lines of the multi-output built-ins, in the order their methods return them.
_OUTPUT_NAMES = {"bollinger": ("mid", "upper", "lower"), "donchian": ("upper", "lower", "mid")}
_OUTPUT_SUFFIX = re.compile(r"^(?P<base>.+)\.(?P<k>\d+)$")


@dataclass(frozen=True, slots=True)
class PlotSeries:
    """One line to draw: its label, one value per bar (NaN while warming up), and its
    ``panel``: ``"overlay"`` (on the price chart) or the title of the sub-panel it shares
    with the other outputs of its indicator."""

    name: str
    values: FloatArray
    panel: str


def classify_panel(values: FloatArray, close: FloatArray) -> str:
    """``"overlay"`` when ``values`` are on the price's scale, else ``"panel"``.

    On the price's scale means the median distance to the close on the same bar is within a
    quarter of the close's whole range over the run, or within 5 % of the close: a moving
    average or a band hugs the price, an oscillator (0..100) or a spread (a few units)
    sits far from it unless the price itself happens to be there.
    """
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(close, dtype=np.float64)
    both = np.isfinite(v) & np.isfinite(c)
    if len(v) != len(c) or not both.any():
        return "panel"
    v, c = v[both], c[both]
    distance = float(np.median(np.abs(v - c)))
    span = float(c.max() - c.min())
    relative = float(np.median(np.abs(v - c) / np.maximum(np.abs(c), 1e-12)))
    return OVERLAY if distance <= 0.25 * span or relative <= 0.05 else "panel"


def plottable_indicators(context: Context) -> list[PlotSeries]:
    """The indicators of ``context`` (after a run) to plot, in declaration order. Values
    cover every bar of the run (NaN-padded if the run stopped early)."""
    close = context.bars.close.to_numpy()
    n = len(close)
    out: list[PlotSeries] = []
    for item in context.indicators:
        hint = item.plot
        if hint is False or (hint is True and item.name.startswith(_NEVER_PLOT)):
            continue
        columns = [_full(s.to_numpy(), n) for s in item.series]
        if hint in (OVERLAY, "panel"):
            where = str(hint)
        elif item.name.startswith(_ALWAYS_PANEL):
            where = "panel"
        else:  # one place for all outputs: a band split over two panels reads as nonsense
            votes = [classify_panel(c, close) for c in columns]
            where = OVERLAY if votes.count(OVERLAY) * 2 > len(votes) else "panel"
        panel = OVERLAY if where == OVERLAY else item.name
        for label, values in zip(_labels(item), columns, strict=True):
            out.append(PlotSeries(label, values, panel))
    return out


def _full(values: FloatArray, n: int) -> FloatArray:
    values = np.asarray(values, dtype=np.float64)
    if len(values) >= n:
        return values[:n]
    return np.concatenate([values, np.full(n - len(values), math.nan)])


def _labels(item: DeclaredIndicator) -> list[str]:
    """``bollinger(20,2.0) upper`` rather than ``bollinger(20,2.0).1``."""
    if len(item.series) == 1:
        return [item.name]
    names = _OUTPUT_NAMES.get(item.name.split("(", 1)[0], ())
    out = []
    for s in item.series:
        match = _OUTPUT_SUFFIX.match(s.name)
        k = int(match["k"]) if match else -1
        out.append(f"{item.name} {names[k]}" if 0 <= k < len(names) else s.name)
    return out
