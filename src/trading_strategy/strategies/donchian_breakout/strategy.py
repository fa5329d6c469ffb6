from __future__ import annotations

from typing import Any, ClassVar, cast

import numpy as np
import numpy.typing as npt
from pydantic import Field

from trading_strategy.strategies import indicators as ind
from trading_strategy.strategies.base import Strategy, StrategyParams

FloatArray = npt.NDArray[np.float64]


class DonchianBreakoutParams(StrategyParams):
    channel: int = Field(20, ge=2, description="breakout channel length, in bars")
    atr_period: int = Field(14, ge=1, description="ATR period for the stop, in bars")
    atr_stop: float = Field(2.0, gt=0, le=20, description="stop distance in ATRs below entry")


class DonchianBreakout(Strategy):
    """Trend following: buy a close above the N-bar high, stop at a multiple of ATR."""

    name = "donchian_breakout"
    Params: ClassVar[type[StrategyParams]] = DonchianBreakoutParams
    params: DonchianBreakoutParams

    def on_start(self) -> None:
        self.upper, self.lower, _ = self.ctx.donchian(self.params.channel)
        self.atr = self.ctx.atr(self.params.atr_period)

    def on_bar(self) -> None:
        ctx = self.ctx
        upper = self.upper[1]  # the channel of the previous bars, excluding this one
        lower = self.lower[1]
        if upper != upper or lower != lower:  # NaN: channel still warming up
            return
        close = ctx.bars.close[0]
        if ctx.is_flat:
            atr = self.atr.value
            if close > upper and atr == atr and not ctx.open_orders:
                stop = close - self.params.atr_stop * atr
                ctx.buy(stop_loss=stop if stop > 0 else None)
                ctx.log("breakout_entry", close=close, channel_high=upper, atr=atr, stop=stop)
        elif ctx.is_long and close < lower:
            ctx.close()
            ctx.log("breakout_exit", close=close, channel_low=lower)

    @classmethod
    def fast_signals(cls, params: StrategyParams, open_: FloatArray, high: FloatArray,
                     low: FloatArray, close: FloatArray, volume: FloatArray,
                     ind: Any = ind) -> dict[str, npt.NDArray[np.bool_] | FloatArray]:
        """``on_bar`` as per-bar signals for the sweep's compiled fast path (see
        ``research.fastpath.declaration``; ``ind``: ``strategies.indicators`` or a stand-in
        with its very functions): the same channel of the previous bars and the
        same ATR; the entry carries its stop (``stop_loss``, NaN: none, as ``on_bar`` passes
        none for a stop at or below zero)."""
        p = cast(DonchianBreakoutParams, params)
        upper, lower, _ = ind.donchian(high, low, p.channel)
        atr = ind.atr(high, low, close, p.atr_period)
        before_upper = np.concatenate(([np.nan], upper[:-1]))  # self.upper[1]
        before_lower = np.concatenate(([np.nan], lower[:-1]))
        ready = ~np.isnan(before_upper) & ~np.isnan(before_lower)
        stop = close - p.atr_stop * atr
        return {"long_entry": ready & (close > before_upper) & ~np.isnan(atr),
                "long_exit": ready & (close < before_lower),
                "stop_loss": np.where(stop > 0, stop, np.nan)}
