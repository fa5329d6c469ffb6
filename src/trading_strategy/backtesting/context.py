"""The strategy context of a backtest: the ``Context`` contract over the engine's state."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.orders import Order
from trading_strategy.strategies.context import Bars, Context, Cursor, OrderSpec, SeriesBuilder


class _Account(Protocol):
    @property
    def position(self) -> int: ...

    @property
    def cash(self) -> int: ...


class EngineView(Protocol):
    """What the context needs of the backtest engine (a protocol: the engine imports the
    context, so the context does not import the engine)."""

    @property
    def bars(self) -> BarSeries: ...

    @property
    def ledger(self) -> _Account: ...

    @property
    def orders(self) -> list[Order]: ...

    def equity_units(self, i: int) -> int: ...

    def submit(self, spec: OrderSpec) -> str: ...

    def cancel(self, order_id: str, reason: str, *, by_strategy: bool = False) -> bool: ...

    def log_decision(self, event: str, fields: Mapping[str, Any]) -> None: ...


class BacktestContext(Context):
    def __init__(self, engine: EngineView, cursor: Cursor, builder: SeriesBuilder,
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

    def _place(self, spec: OrderSpec) -> str:
        return self._engine.submit(spec)

    def cancel(self, order_id: str) -> bool:
        return self._engine.cancel(order_id, reason="cancelled by strategy", by_strategy=True)

    @property
    def open_orders(self) -> list[Order]:
        return [o for o in self._engine.orders if o.is_open]

    def log(self, event: str, **fields: Any) -> None:
        self._engine.log_decision(event, fields)
