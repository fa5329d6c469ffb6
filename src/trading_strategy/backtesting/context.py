"""The strategy context of a backtest: the ``Context`` contract over the engine's state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from trading_strategy.core.bars import BarSeries
from trading_strategy.core.orders import Order
from trading_strategy.portfolio.ledger import Ledger
from trading_strategy.strategies.context import Bars, Context, Cursor, OrderSpec, SeriesBuilder


class EngineView(Protocol):
    """What the context needs of the backtest engine (a protocol: the engine imports the
    context, so the context does not import the engine)."""

    @property
    def bars(self) -> BarSeries: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def close_t(self) -> npt.NDArray[np.int64]: ...

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

    def _cash_units(self) -> int:
        return self._engine.ledger.cash

    def _equity_units(self) -> int:
        # before the first bar (on_start) nothing is held: equity is the cash
        i = self._cursor.i
        return self._engine.equity_units(i) if i >= 0 else self._engine.ledger.cash

    def _ledger(self) -> Ledger:
        return self._engine.ledger

    def _mark_ticks(self) -> int:
        i = self._cursor.i
        return int(self._engine.close_t[i]) if i >= 0 else 0

    def _place(self, spec: OrderSpec) -> str:
        return self._engine.submit(spec)

    def cancel(self, order_id: str) -> bool:
        return self._engine.cancel(order_id, reason="cancelled by strategy", by_strategy=True)

    def _open_orders(self) -> list[Order]:
        return [o for o in self._engine.orders if o.is_open]

    def log(self, event: str, **fields: Any) -> None:
        self._engine.log_decision(event, fields)
