from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from trading_strategy.strategies.base import Strategy, StrategyParams


class RsiReversionParams(StrategyParams):
    period: int = Field(14, ge=2, description="RSI period, in bars (Wilder smoothing)")
    oversold: float = Field(30.0, gt=0, lt=100, description="buy below this RSI")
    overbought: float = Field(70.0, gt=0, lt=100, description="sell above this RSI")

    @model_validator(mode="after")
    def _ordered(self) -> RsiReversionParams:
        if self.oversold >= self.overbought:
            raise ValueError(
                f"oversold ({self.oversold}) must be less than overbought ({self.overbought})"
            )
        return self


class RsiReversion(Strategy):
    """Mean reversion: buy when RSI is oversold, exit when it becomes overbought."""

    name = "rsi_reversion"
    Params: ClassVar[type[StrategyParams]] = RsiReversionParams
    params: RsiReversionParams

    def on_start(self) -> None:
        self.rsi = self.ctx.rsi(self.params.period)

    def on_bar(self) -> None:
        value = self.rsi.value
        if value != value:  # NaN during warm-up
            return
        ctx = self.ctx
        if ctx.is_flat:
            if value < self.params.oversold and not ctx.open_orders:
                ctx.buy()
        elif ctx.is_long and value > self.params.overbought:
            ctx.close()
