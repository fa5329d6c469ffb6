"""A strategy runner: one supervised component per strategy, driving the live context.

Per bar of its instrument: first the fills and status changes already published for it are
applied (they happened at or before this bar's open), then the bar is pushed into the context
and ``on_bar`` runs through a guard; the intents it left in the outbox go to the execution
component by bus request, and the runner reports the bar done on ``runtime.bar_done`` (the
replay waits for every runner, so a replay is deterministic). A strategy error is logged and
re-raised after the done report: the supervisor restarts the runner (the strategy object and
its context survive) or, when it keeps failing, stops and flags it.

Client order ids are ``<strategy>-<session>-<bar:08d>-<k>``: a pure function of the bar and
the decision's rank in it, so a bar re-decided after a crash sends the *same* ids, which the
order manager and the venue treat as the same orders — never a duplicate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple

import structlog

from trading_strategy.core.enums import OrderStatus, Side
from trading_strategy.core.errors import StrategyError
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.kernel.sizing import SizeSpec, default_lots
from trading_strategy.market_data.providers.base import BarEvent
from trading_strategy.observability.metrics import StrategyMetrics
from trading_strategy.runtime.bus import Bus, Overflow
from trading_strategy.runtime.execution import FillMessage, StatusMessage, SubmitResult
from trading_strategy.runtime.live_context import CancelRequest, LiveContext
from trading_strategy.strategies.base import Strategy
from trading_strategy.strategies.context import FillEvent, OrderEvent

log = structlog.get_logger("trading_strategy.decisions")


class BarDone(NamedTuple):
    strategy: str
    symbol: str
    ts_event: int


class StrategyRunner:
    def __init__(
        self,
        *,
        name: str,
        strategy_cls: type[Strategy],
        params: Mapping[str, Any] | None,
        instrument: Instrument,
        timeframe: Timeframe,
        capital: Decimal,
        session_id: str,
        bus: Bus,
        metrics: StrategyMetrics,
        size: str = "all-in",
        commission: Callable[[int, int, bool], int] | None = None,
        warmup_until: int | None = None,
    ) -> None:
        self.name = name
        self.symbol = instrument.symbol
        self.bus = bus
        self.metrics = metrics
        self.session_id = session_id
        self.warmup_until = warmup_until
        self._commission = commission or (lambda lots, ticks, first: 0)
        self._size = SizeSpec.parse(size)
        # "2.5" of a 1-lot instrument is an error, not a silent 2
        self._size.check_lots(instrument, what=f"strategy {name}: size")
        self._k = 0
        self._bar_ns = timeframe.nanoseconds
        self.ctx = LiveContext(strategy=name, instrument=instrument, timeframe=timeframe,
                               initial_cash=capital, next_id=self._next_id, sizer=self._sizer,
                               now_ns=self._market_now)
        self.strategy = strategy_cls(self.ctx, strategy_cls.parse_params(params))
        self._bars = bus.subscribe(f"market.bars.{self.symbol}", BarEvent, maxsize=4096,
                                   name=f"{name}.bars")
        self._mine = bus.subscribe(f"strategy.{name}", maxsize=65536,
                                   overflow=Overflow.BLOCK, name=f"{name}.orders")
        self._started = False
        self._task: asyncio.Task[Any] | None = None
        self.last_bar_ts: int | None = None

    def _market_now(self) -> int:
        """Decisions happen at the close of the current bar, on the market's clock (a replay
        at any speed sees the same market hours, day boundaries and order rates)."""
        return self.ctx.time_ns + self._bar_ns if self.ctx.bar_index >= 0 else time.time_ns()

    # --- ids and sizing --------------------------------------------------------------------
    def _next_id(self) -> str:
        self._k += 1
        return f"{self.name}-{self.session_id}-{self.ctx.bar_index:08d}-{self._k}"

    def _sizer(self, side: Side, price_ticks: int, ctx: LiveContext) -> tuple[int, bool]:
        """The run's default size, by the backtester's rule (``kernel.sizing``)."""
        return default_lots(self._size, ctx.instrument, side, price_ticks=price_ticks,
                            position_lots=ctx.ledger.position, cash_units=ctx.ledger.cash,
                            equity_units=ctx.equity_units(), commission=self._commission)

    # --- the component ---------------------------------------------------------------------
    async def run(self) -> None:
        self._task = asyncio.current_task()
        if not self._started:
            self._started = True
            self._guard("on_start", self.strategy.on_start)
        while True:
            envelope = await self._bars.get()
            event = envelope.message
            try:
                self._drain()
                await self.on_bar(event)
            finally:
                await self.bus.publish("runtime.bar_done",
                                       BarDone(self.name, self.symbol, event.bar.ts_event))

    def close(self) -> None:
        """Stop receiving (a flagged runner must not hold the feed back)."""
        self._bars.close()
        self._mine.close()

    async def on_stop(self) -> None:
        try:
            self._guard("on_stop", self.strategy.on_stop)
        finally:
            # the loop waits on its queue forever: end it now rather than at the timeout
            task = self._task
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()

    def _drain(self) -> None:
        """Apply the fills and status changes published before this bar."""
        while self._mine.qsize():
            message = self._mine.get_nowait().message
            ctx = self.ctx
            if isinstance(message, FillMessage):
                ctx.apply_fill(message.client_order_id, message.side, message.lots,
                               message.price_ticks, message.commission_units, message.ts_event)
                inst = ctx.instrument
                fill = FillEvent(message.client_order_id, message.side,
                                 inst.quantity(message.lots), inst.price(message.price_ticks),
                                 inst.money(message.commission_units), message.ts_event)
                self._guard("on_fill", partial(self.strategy.on_fill, fill))
                order = ctx.orders.get(message.client_order_id)
                if order is not None:
                    status = OrderEvent(order.id, order.status, "", message.ts_event)
                    self._guard("on_order_event", partial(self.strategy.on_order_event, status))
            elif isinstance(message, StatusMessage):
                ctx.apply_status(message.client_order_id, message.status, message.reason)
                event = OrderEvent(message.client_order_id, message.status, message.reason,
                                   ctx.time_ns if ctx.bar_index >= 0 else 0)
                self._guard("on_order_event", partial(self.strategy.on_order_event, event))

    def _guard(self, callback: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except StrategyError:
            raise
        except Exception as exc:
            raise StrategyError(self.name, callback, exc) from exc

    async def on_bar(self, event: BarEvent) -> None:
        ctx = self.ctx
        ctx.push_bar(event.bar)
        self.last_bar_ts = event.bar.ts_event
        self._k = 0
        try:
            self._guard(f"on_bar at {event.bar.ts_event}", self.strategy.on_bar)
        except StrategyError:
            ctx.outbox = []  # a failed decision sends nothing (as a backtest would stop)
            raise
        outbox = ctx.outbox
        if not outbox:
            return
        warm = self.warmup_until is not None and event.bar.ts_event <= self.warmup_until
        if not warm:
            self.metrics.observe_decision_ns(time.time_ns() - event.ts_init)
        items, ctx.outbox = list(outbox), []
        if warm:
            for item in items:  # replaying history after a restart: those bars are done
                if isinstance(item, OrderIntent):
                    ctx.orders.pop(item.client_order_id, None)
            return
        for item in items:
            if isinstance(item, OrderIntent):
                result: SubmitResult = await self.bus.request("execution.submit", item)
            else:
                assert isinstance(item, CancelRequest)
                result = await self.bus.request("execution.cancel", item)
            self._record(event, item, result)

    def _record(self, event: BarEvent, item: OrderIntent | CancelRequest,
                result: SubmitResult) -> None:
        order = self.ctx.orders.get(result.client_order_id)
        if order is not None:
            if result.status == "denied":
                order.status = OrderStatus.REJECTED
                order.reason = result.reason
            elif result.lots and isinstance(item, OrderIntent):
                order.lots = result.lots
        intent: dict[str, Any] = ({"cancel": item.client_order_id}
                                  if isinstance(item, CancelRequest) else
                                  {"side": item.side.value, "lots": item.lots,
                                   "type": item.order_type.value,
                                   "limit": item.limit_ticks, "stop": item.stop_ticks})
        log.info("decision", strategy=self.name, instrument=self.symbol,
                 inputs={"bar_ts": event.bar.ts_event, "close": event.bar.close,
                         "position": self.ctx.position_lots},
                 intent=intent, verdict=result.status, reason=result.reason,
                 order_id=result.client_order_id)
