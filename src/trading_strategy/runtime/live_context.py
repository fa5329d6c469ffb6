"""The strategy context of a live (paper or real) session.

Same contract as the backtest context; what differs is the driver: bars arrive one at a time
(``push_bar``), indicators update in O(1) (``IncrementalBuilder``), and order calls cannot
reach the venue synchronously — they are turned into exact intents, given their client order
id at once (so ``ctx.buy()`` returns it, as in a backtest) and queued in ``outbox`` for the
strategy's runner to send through the risk gate and the order manager after ``on_bar``.
Position and cash are this strategy's own, updated only from its fills (``apply_fill``); an
order's status moves only along the kernel's transition table (``apply_transition``, fed
from the order journal, and ``deny`` for an order refused before it was journaled).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

import structlog

from trading_strategy.core.bars import Bar
from trading_strategy.core.enums import OrderStatus, Side
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import Order, OrderIntent
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.kernel.intents import order_prices, quantity_lots
from trading_strategy.kernel.order_states import ORDER_TRANSITIONS, move
from trading_strategy.portfolio.ledger import Ledger
from trading_strategy.strategies.context import (
    Bars,
    Context,
    Cursor,
    IncrementalBuilder,
    OrderSpec,
    Series,
)

#: (side, decision price in ticks, context) -> (lots, resize at fill)
Sizer = Callable[[Side, int, "LiveContext"], tuple[int, bool]]


class CancelRequest(NamedTuple):
    client_order_id: str
    strategy: str
    ts_init: int


class LiveContext(Context):
    def __init__(
        self,
        *,
        strategy: str,
        instrument: Instrument,
        timeframe: Timeframe,
        initial_cash: Decimal,
        next_id: Callable[[], str],
        sizer: Sizer,
        now_ns: Callable[[], int],
    ) -> None:
        cursor = Cursor()
        self._lists: tuple[list[float], ...] = ([], [], [], [], [])
        names = ("open", "high", "low", "close", "volume")
        series = [Series(n, values, cursor) for n, values in zip(names, self._lists, strict=True)]
        self._ts: list[int] = []
        self._incremental = IncrementalBuilder(cursor)
        super().__init__(instrument=instrument, timeframe=timeframe, cursor=cursor,
                         builder=self._incremental, bars=Bars(*series), times=self._ts)
        self.strategy_name = strategy
        self.ledger = Ledger(int((initial_cash / instrument.money_unit).to_integral_value()))
        self.outbox: list[OrderIntent | CancelRequest] = []
        #: the orders the strategy placed itself
        self.orders: dict[str, Order] = {}
        #: orders placed for it (its entries' exits, a risk rule's close), by id, while open
        self._placed_for: dict[str, Order] = {}
        #: both kinds, in placement order, pruned of closed ones as ``open_orders`` finds them
        self._book: dict[str, Order] = {}
        self._next_id = next_id
        self._sizer = sizer
        self._now_ns = now_ns
        self._log = structlog.get_logger("trading_strategy.decisions").bind(
            strategy=strategy, instrument=instrument.symbol)

    # --- driver side -----------------------------------------------------------------------
    def push_bar(self, bar: Bar) -> None:
        """Append one closed bar and bring every indicator up to date."""
        opens, highs, lows, closes, volumes = self._lists
        opens.append(bar.open)
        highs.append(bar.high)
        lows.append(bar.low)
        closes.append(bar.close)
        volumes.append(bar.volume)
        self._ts.append(bar.ts_event)
        self._cursor.i += 1
        self._incremental.advance()

    def last_close_ticks(self) -> int:
        return self.instrument.to_ticks(self._lists[3][-1]) if self._ts else 0

    def apply_fill(self, client_order_id: str, side: Side, lots: int, price_ticks: int,
                   commission_units: int, ts_event: int) -> None:
        """Book one of its fills (the status it caused comes as a transition)."""
        sign = 1 if side is Side.BUY else -1
        self.ledger.apply_fill(sign, lots, price_ticks, commission_units, 0, ts_event,
                               self._cursor.i)
        order = self.orders.get(client_order_id) or self._placed_for.get(client_order_id)
        if order is not None:
            order.filled_lots += lots

    def apply_transition(self, client_order_id: str, status: OrderStatus, reason: str = "",
                         from_status: OrderStatus | None = None) -> Order | None:
        """Move one of its orders to ``status`` (``IllegalTransition`` off the table): its own
        and those placed for it (``track``); orders from before a restart are not mirrored.

        ``from_status`` is where the journal had the order: an order decided again after a
        restart starts here as CREATED while the journal already has it further on, so it
        first catches up (:meth:`catch_up`)."""
        order = self.orders.get(client_order_id)
        if order is None:
            order = self._placed_for.get(client_order_id)
            if order is None:
                return None
            if not status.is_open:
                del self._placed_for[client_order_id]
        if from_status is not None and order.status is not from_status:
            self._catch_up(order, from_status)
        move(order, status, reason)
        return order

    def track(self, order: Order) -> None:
        """An order placed for the strategy by the execution component (an exit of one of
        its entries, a risk rule's close): listed in ``open_orders`` while open, as a
        backtest lists the engine's, and cancellable."""
        if order.id not in self.orders:
            self._placed_for[order.id] = order
            self._book[order.id] = order

    def forget(self, client_order_id: str) -> None:
        """An order decided while replaying history after a restart: never sent."""
        self.orders.pop(client_order_id, None)
        self._book.pop(client_order_id, None)

    def catch_up(self, client_order_id: str, status: OrderStatus) -> None:
        """Bring an order to ``status`` along the shortest path of the transition table
        (the journal had it there before this process placed it again)."""
        order = self.orders.get(client_order_id)
        if order is not None:
            self._catch_up(order, status)

    @staticmethod
    def _catch_up(order: Order, status: OrderStatus) -> None:
        if order.status is status:
            return
        for step in _path(order.status, status):
            move(order, step)

    def deny(self, client_order_id: str, reason: str) -> None:
        """The order was refused before it reached the order manager (CREATED → DENIED)."""
        order = self.orders.get(client_order_id)
        if order is not None:
            move(order, OrderStatus.DENIED, reason)

    def equity_units(self) -> int:
        return self.ledger.equity(self.last_close_ticks())

    # --- the Context contract --------------------------------------------------------------
    @property
    def position_lots(self) -> int:
        return self.ledger.position

    def _cash_units(self) -> int:
        return self.ledger.cash

    def _equity_units(self) -> int:
        return self.equity_units()

    def _ledger(self) -> Ledger:
        return self.ledger

    def _mark_ticks(self) -> int:
        return self.last_close_ticks()

    def _place(self, spec: OrderSpec) -> str:
        side, quantity, order_type = spec.side, spec.quantity, spec.order_type
        tif, reduce_only, tag = spec.tif, spec.reduce_only, spec.tag
        inst = self.instrument
        limit_t, stop_t, bracket = order_prices(inst, order_type, limit=spec.limit,
                                                stop=spec.stop, stop_loss=spec.stop_loss,
                                                take_profit=spec.take_profit)
        decision_t = self.last_close_ticks()
        size_at_fill = False
        if quantity is None:
            lots, size_at_fill = self._sizer(side, decision_t, self)
        else:
            lots = quantity_lots(inst, quantity)
        oid = self._next_id()
        ts = self._now_ns()
        intent = OrderIntent(
            client_order_id=oid, strategy=self.strategy_name, symbol=inst.symbol, side=side,
            lots=lots, order_type=order_type, limit_ticks=limit_t, stop_ticks=stop_t, tif=tif,
            reduce_only=reduce_only, bracket=bracket, ts_init=ts, decision_ticks=decision_t,
            size_at_fill=size_at_fill,
        )
        self.orders[oid] = self._book[oid] = Order(
            id=oid, strategy=self.strategy_name, symbol=inst.symbol, side=side, lots=lots,
            order_type=order_type, limit_ticks=limit_t, stop_ticks=stop_t, tif=tif,
            reduce_only=reduce_only, bracket=bracket, created_index=self._cursor.i,
            eligible_index=self._cursor.i + 1, ts_init=ts, decision_ticks=decision_t,
            status=OrderStatus.CREATED, size_at_fill=size_at_fill, tag=tag,
        )
        self.outbox.append(intent)
        return oid

    def cancel(self, order_id: str) -> bool:
        order = self.orders.get(order_id) or self._placed_for.get(order_id)
        if order is None or not order.is_open:
            return False
        self.outbox.append(CancelRequest(order_id, self.strategy_name, self._now_ns()))
        return True

    def _open_orders(self) -> list[Order]:
        book = self._book
        live = [o for o in book.values() if o.is_open]
        if len(live) < len(book):
            self._book = {o.id: o for o in live}
        return live

    def log(self, event: str, **fields: Any) -> None:
        self._log.info(event, bar_ts=self._ts[-1] if self._ts else None, **fields)


def _path(start: OrderStatus, goal: OrderStatus) -> list[OrderStatus]:
    """The statuses after ``start`` on a shortest path to ``goal`` (``[goal]`` if there is
    none: moving there then raises ``IllegalTransition``)."""
    came: dict[OrderStatus, OrderStatus] = {start: start}
    frontier = [start]
    while frontier and goal not in came:
        nxt: list[OrderStatus] = []
        for status in frontier:
            for target in sorted(ORDER_TRANSITIONS.targets(status)):
                if target not in came:
                    came[target] = status
                    nxt.append(target)
        frontier = nxt
    if goal not in came:
        return [goal]
    path = [goal]
    while came[path[-1]] is not start:
        path.append(came[path[-1]])
    return path[::-1]
