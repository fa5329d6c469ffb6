"""Custom indicators from a plain function of arrays (``ctx.indicator``), through the API.

``Context.indicator`` is proposed for strategies/context.py (see the API report); these tests
run as soon as it exists: the vectorized (backtest) and recomputed (live) forms give the
same run, and a function that looks ahead or past its window is refused.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from trading_strategy import Backtest, Strategy
from trading_strategy.strategies.context import Context

pytestmark = pytest.mark.skipif(not hasattr(Context, "indicator"),
                                reason="Context.indicator is not in strategies/context.py yet")

FloatArray = npt.NDArray[np.float64]


def rolling_mean(a: FloatArray, n: int) -> FloatArray:
    out = np.full(len(a), np.nan)
    total = np.cumsum(np.insert(a, 0, 0.0))
    out[n - 1:] = (total[n:] - total[:-n]) / n
    return out


def bands(close: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    middle = rolling_mean(close, n)
    return middle * 1.02, middle * 0.98


class Custom(Strategy):
    def on_start(self) -> None:
        ctx: Any = self.ctx
        self.fast = ctx.indicator(rolling_mean, n=10, window=10)
        self.slow = ctx.indicator(rolling_mean, ctx.bars.close, n=30)  # live: whole history
        self.upper, self.lower = ctx.indicator(bands, n=20, outputs=2, window=20)
        self.cross = ctx.crossover(self.fast, self.slow)

    def on_bar(self) -> None:
        if self.cross.value > 0 and not self.ctx.is_long:
            self.ctx.buy()
        elif self.cross.value < 0 and self.ctx.is_long:
            self.ctx.close()
        assert not self.upper.value < self.lower.value


def test_vectorized_and_live_forms_give_the_same_run() -> None:
    vectorized = Backtest("GOOG", Custom).run().to_json()
    live = Backtest("GOOG", Custom, indicators="incremental").run().to_json()
    assert vectorized.replace('"indicator_mode":"vectorized"',
                              '"indicator_mode":"incremental"') == live
    builtin = Backtest("GOOG", "sma_crossover").run().report
    assert json.loads(vectorized)["metrics"] == builtin["metrics"]


def _strategy(declare: Any) -> type[Strategy]:
    class Declares(Strategy):
        def on_start(self) -> None:
            declare(self.ctx)

        def on_bar(self) -> None:
            pass

    return Declares


@pytest.mark.parametrize(("declare", "message"), [
    (lambda ctx: ctx.indicator(lambda a: np.append(a[1:], np.nan)), "look-ahead"),
    (lambda ctx: ctx.indicator(rolling_mean, n=30, window=10), "more than window=10"),
    (lambda ctx: ctx.indicator(lambda a: a[:-1]), "one value per bar"),
])
def test_unsound_functions_are_refused(declare: Any, message: str) -> None:
    with pytest.raises(Exception, match=message):
        Backtest("GOOG", _strategy(declare)).run()
