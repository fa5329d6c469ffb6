"""Which indicators the report plots and where, read from real runs through the public API."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from trading_strategy.api import Backtest
from trading_strategy.backtesting.indicator_plot import (
    OVERLAY,
    PlotSeries,
    classify_panel,
    plottable_indicators,
)
from trading_strategy.strategies.base import Strategy

# ``ctx.indicator(..., plot=)`` and ``Context.indicators`` come with the context diff


def _plotted(strategy: object, **kwargs: Any) -> list[PlotSeries]:
    engine = Backtest("GOOG", strategy, **kwargs).run().run.engine
    return plottable_indicators(engine.ctx)


def _where(plotted: list[PlotSeries]) -> dict[str, str]:
    return {p.name: p.panel for p in plotted}


def test_moving_averages_go_over_the_price_and_the_crossover_signal_is_not_drawn() -> None:
    plotted = _plotted("sma_crossover")
    assert _where(plotted) == {"sma(10)": OVERLAY, "sma(30)": OVERLAY}
    closes = Backtest("GOOG", "sma_crossover").run().run.bars.close
    for p in plotted:
        assert len(p.values) == len(closes)
        assert np.isnan(p.values[0]) and np.isfinite(p.values[-1])


def test_oscillators_get_their_own_panel() -> None:
    assert _where(_plotted("rsi_reversion")) == {"rsi(14)": "rsi(14)"}
    where = _where(_plotted("donchian_breakout"))
    assert where["atr(14)"] == "atr(14)"
    assert where["donchian(20) upper"] == OVERLAY and where["donchian(20) lower"] == OVERLAY


def test_incremental_indicators_plot_the_same_values() -> None:
    vectorized = _plotted("sma_crossover")
    incremental = _plotted("sma_crossover", indicators="incremental")
    assert [p.name for p in incremental] == [p.name for p in vectorized]
    for a, b in zip(vectorized, incremental, strict=True):
        np.testing.assert_allclose(a.values, b.values, rtol=1e-12, equal_nan=True)


class _Custom(Strategy):
    """Bands, a custom momentum (an oscillator around 0) and a custom copy of the price."""

    name = "plot_custom"

    def on_start(self) -> None:
        ctx = self.ctx
        self.bands = ctx.bollinger(20, 2.0)
        self.momentum = ctx.indicator(lambda c: c - np.concatenate(([np.nan], c[:-1])),
                                      name="momentum", window=2)
        self.smooth = ctx.indicator(lambda c: c * 1.0, name="price_copy", window=1)

    def on_bar(self) -> None:
        pass


def test_custom_indicators_are_placed_by_their_scale_and_bands_stay_together() -> None:
    plotted = _plotted(_Custom)
    assert _where(plotted) == {
        "bollinger(20,2.0) mid": OVERLAY, "bollinger(20,2.0) upper": OVERLAY,
        "bollinger(20,2.0) lower": OVERLAY, "momentum": "momentum", "price_copy": OVERLAY,
    }


class _Hinted(Strategy):
    name = "plot_hinted"
    hints: ClassVar[dict[str, Any]] = {"hidden": False, "forced_overlay": "overlay",
                                        "forced_panel": "panel"}

    def on_start(self) -> None:
        for name, hint in self.hints.items():
            # kept in a local only: the context's record finds it, no attribute needed
            _ = self.ctx.indicator(lambda c: c / 100.0, name=name, window=1, plot=hint)

    def on_bar(self) -> None:
        pass


def test_an_explicit_plot_hint_wins() -> None:
    assert _where(_plotted(_Hinted)) == {"forced_overlay": OVERLAY,
                                         "forced_panel": "forced_panel"}


def test_classify_panel_by_distance_to_the_close() -> None:
    close = np.linspace(50.0, 80.0, 500)
    assert classify_panel(close * 1.02, close) == OVERLAY  # a band 2 % above
    assert classify_panel(np.full(500, 50.0) + np.sin(np.arange(500)) * 20, close) == "panel"
    assert classify_panel(close * 0.03, close) == "panel"  # an ATR-like few percent
    assert classify_panel(np.full(500, np.nan), close) == "panel"  # never warmed up
