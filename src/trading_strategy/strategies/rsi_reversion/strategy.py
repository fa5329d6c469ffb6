from __future__ import annotations

from typing import Any, ClassVar, cast

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from trading_strategy.strategies import indicators as ind
from trading_strategy.strategies.base import Strategy, StrategyParams

FloatArray = npt.NDArray[np.float64]


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

    @classmethod
    def fast_signals(cls, params: StrategyParams, open_: FloatArray, high: FloatArray,
                     low: FloatArray, close: FloatArray, volume: FloatArray,
                     ind: Any = ind) -> dict[str, npt.NDArray[np.bool_]]:
        """``on_bar`` as per-bar signals for the sweep's compiled fast path (see
        ``research.fastpath.declaration``; ``ind``: ``strategies.indicators`` or a stand-in
        with its very functions): the same RSI; a comparison with NaN (warm-up)
        is never true, as ``on_bar`` returns early."""
        p = cast(RsiReversionParams, params)
        value = ind.rsi(close, p.period)
        return {"long_entry": value < p.oversold, "long_exit": value > p.overbought}
