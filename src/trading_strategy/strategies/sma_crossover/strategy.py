from __future__ import annotations

from typing import Any, ClassVar, cast

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from trading_strategy.strategies import indicators as ind
from trading_strategy.strategies.base import Strategy, StrategyParams

FloatArray = npt.NDArray[np.float64]


class SmaCrossoverParams(StrategyParams):
    fast: int = Field(10, ge=1, description="fast SMA period, in bars")
    slow: int = Field(30, ge=2, description="slow SMA period, in bars")
    allow_short: bool = Field(False, description="go short on a downward cross")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossoverParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be less than slow ({self.slow})")
        return self


class SmaCrossover(Strategy):
    """Trend following on the crossing of a fast and a slow simple moving average."""

    name = "sma_crossover"
    Params: ClassVar[type[StrategyParams]] = SmaCrossoverParams
    params: SmaCrossoverParams

    def on_start(self) -> None:
        ctx = self.ctx
        self.fast = ctx.sma(self.params.fast)
        self.slow = ctx.sma(self.params.slow)
        self.cross = ctx.crossover(self.fast, self.slow)

    def on_bar(self) -> None:
        signal = self.cross.value
        if not signal:
            return
        ctx = self.ctx
        if signal > 0:
            if ctx.is_short:
                ctx.close()
            if not ctx.is_long:
                ctx.buy()
        else:
            if ctx.is_long:
                ctx.close()
            if self.params.allow_short and not ctx.is_short:
                ctx.sell()

    @classmethod
    def fast_signals(cls, params: StrategyParams, open_: FloatArray, high: FloatArray,
                     low: FloatArray, close: FloatArray, volume: FloatArray,
                     ind: Any = ind) -> dict[str, npt.NDArray[np.bool_]]:
        """``on_bar`` as per-bar signals for the sweep's compiled fast path (see
        ``research.fastpath.declaration``; ``ind``: ``strategies.indicators`` or a stand-in
        with its very functions): the same crossing of the same averages; an
        upward cross closes a short and enters long, a downward one closes a long and,
        with ``allow_short``, enters short."""
        p = cast(SmaCrossoverParams, params)
        cross = ind.crossover(ind.sma(close, p.fast), ind.sma(close, p.slow))
        up, down = cross > 0, cross < 0
        return {"long_entry": up, "short_exit": up, "long_exit": down,
                "short_entry": down & p.allow_short}
