from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from trading_strategy.strategies.base import Strategy, StrategyParams


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
