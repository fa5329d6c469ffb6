"""Two test strategies that exercise what the built-ins never do.

``LimitCancel`` rests limit orders (GTC, and every third one DAY so that some expire), cancels
the entries not filled within ``patience`` bars, places a resting reduce-only take-profit
limit once long, and closes after ``hold`` bars. ``Oversize`` asks for sizes the risk limits
must deny or resize: three times what the equity pays, a fraction of a lot (zero lots), and a
short twice the equity.

Neither reacts to ``on_fill``/``on_order_event``: their decisions depend only on bars, their
position and their open orders, so a callback that one driver misses shows in the callback
trace without changing what they trade.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from trading_strategy.core.enums import OrderType, Side, TimeInForce
from trading_strategy.strategies.base import Strategy, StrategyParams


class LimitCancelParams(StrategyParams):
    offset_pct: float = Field(1.0, gt=0, lt=50, description="entry limit this % below close")
    patience: int = Field(3, ge=1, description="bars before an unfilled entry is cancelled")
    hold: int = Field(6, ge=1, description="bars a position is held before a market close")


class LimitCancel(Strategy):
    """Limit entries below the close, cancelled when stale; a resting take-profit limit."""

    name = "parity_limit_cancel"
    Params: ClassVar[type[StrategyParams]] = LimitCancelParams
    params: LimitCancelParams

    def on_start(self) -> None:
        self._entries: dict[str, int] = {}  # open entry id -> bar it was placed on
        self._entered = -1
        self._placed = 0

    def on_bar(self) -> None:
        ctx = self.ctx
        i = ctx.bar_index
        close = ctx.bars.close[0]
        still_open = {o.id for o in ctx.open_orders}
        for oid, bar in list(self._entries.items()):
            if oid not in still_open:
                del self._entries[oid]
            elif i - bar >= self.params.patience:
                ctx.cancel(oid)
                del self._entries[oid]
        if ctx.is_flat:
            self._entered = -1
            if not self._entries:
                self._placed += 1
                tif = TimeInForce.DAY if self._placed % 3 == 0 else TimeInForce.GTC
                oid = ctx.buy(limit=close * (1 - self.params.offset_pct / 100), tif=tif)
                self._entries[oid] = i
            return
        if self._entered < 0:
            self._entered = i
            # entries are buys: the position is long; the target rests until it fills
            ctx.submit_order(Side.SELL, ctx.position, order_type=OrderType.LIMIT,
                             limit=close * (1 + 2 * self.params.offset_pct / 100),
                             reduce_only=True)
        elif (i - self._entered) % self.params.hold == 0:
            ctx.close()


class OversizeParams(StrategyParams):
    every: int = Field(5, ge=1, description="bars between entry attempts")
    hold: int = Field(4, ge=1, description="bars a position is held")


class Oversize(Strategy):
    """Entries the risk limits must resize or deny; a market close after ``hold`` bars."""

    name = "parity_oversize"
    Params: ClassVar[type[StrategyParams]] = OversizeParams
    params: OversizeParams

    def on_start(self) -> None:
        self._entered = -1

    def on_bar(self) -> None:
        ctx = self.ctx
        i = ctx.bar_index
        if not ctx.is_flat:
            if self._entered < 0:
                self._entered = i
            elif i - self._entered >= self.params.hold:
                ctx.close()
                self._entered = i  # one close per hold period, even if it is refused
            return
        self._entered = -1
        if i % self.params.every or ctx.open_orders:
            return
        close = ctx.bars.close[0]
        equity = float(ctx.equity)
        kind = (i // self.params.every) % 3
        if kind == 0:
            ctx.buy(int(3 * equity / close))  # buying power: resized or denied
        elif kind == 1:
            ctx.buy(Decimal("0.4"))  # a fraction of a lot: zero lots, denied
        else:
            ctx.sell(int(2 * equity / close))  # a short twice the equity
