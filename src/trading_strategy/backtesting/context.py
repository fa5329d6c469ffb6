"""The strategy context of a backtest: the ``Context`` contract over the engine's state."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from trading_strategy.core.enums import OrderType, Side, TimeInForce
from trading_strategy.core.orders import Order
from trading_strategy.strategies.context import Bars, Context, Cursor, Price, SeriesBuilder

if TYPE_CHECKING:
    from trading_strategy.backtesting.engine import BacktestEngine


class BacktestContext(Context):
    def __init__(self, engine: BacktestEngine, cursor: Cursor, builder: SeriesBuilder,
                 bars: Bars) -> None:
        super().__init__(
            instrument=engine.bars.instrument,
            timeframe=engine.bars.timeframe,
            cursor=cursor,
            builder=builder,
            bars=bars,
            times=engine.bars.ts,
        )
        self._engine = engine

    @property
    def position_lots(self) -> int:
        return self._engine.ledger.position

    @property
    def cash(self) -> Decimal:
        return self.instrument.money(self._engine.ledger.cash)

    @property
    def equity(self) -> Decimal:
        return self.instrument.money(self._engine.equity_units(self._cursor.i))

    def submit_order(
        self,
        side: Side,
        quantity: Price | None = None,
        *,
        order_type: OrderType = OrderType.MARKET,
        limit: Price | None = None,
        stop: Price | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        stop_loss: Price | None = None,
        take_profit: Price | None = None,
        reduce_only: bool = False,
        tag: str = "",
    ) -> str:
        return self._engine.submit(
            side, quantity, order_type=order_type, limit=limit, stop=stop, tif=tif,
            stop_loss=stop_loss, take_profit=take_profit, reduce_only=reduce_only, tag=tag,
        )

    def cancel(self, order_id: str) -> bool:
        return self._engine.cancel(order_id, reason="cancelled by strategy")

    @property
    def open_orders(self) -> list[Order]:
        return [o for o in self._engine.orders if o.is_open]

    def log(self, event: str, **fields: Any) -> None:
        self._engine.log_decision(event, fields)
