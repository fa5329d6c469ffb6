"""A strategy runner: one supervised component per strategy, driving the live context.

The session's feed hands each bar of the runner's instrument to :meth:`StrategyRunner.step`,
in its own task and in bar order (no queue and no "bar done" round trip per bar: that
handshake was most of a replay's cost). A step first applies what happened to the strategy's
orders since its last bar — fills and status changes, at or before this bar's open — then
pushes the bar into the context and runs ``on_bar`` through a guard; the intents it left in
the outbox go to the execution component by bus request, and the status changes each one
caused reach the strategy right after, in submission order.

Callbacks follow the backtest's order (shared rule 1): events a decision causes (ACCEPTED,
DENIED by risk, REJECTED by the venue at submit, CANCELLED for the strategy's own cancel)
right after the ``on_bar`` that made them; events from matching (fills, partial fills,
cancels by risk or one-cancels-other, expiries, rejections at the fill) before the next
``on_bar``, in the order they were journaled, a fill as ``on_fill`` then ``on_order_event``.
Status changes come from the order journal (``OrderTransition``, one per journaled
transition: what the strategy hears is exactly what was journaled), money from the execution
component's ``FillMessage``. A strategy that overrides neither callback pays only for the
bookkeeping of its own orders' statuses.

The supervised part (:meth:`run`) calls ``on_start`` and then waits: a step that fails
(a strategy error, or an error on the way to the venue) hands the error to it, so the
supervisor restarts the runner (the strategy object and its context survive) or, when it
keeps failing, stops and flags it. The feed waits for a restarting runner before giving it
the next bar (:meth:`wait_ready`), so a replay stays deterministic.

Client order ids are ``<strategy>-<session>-<bar:08d>-<k>``: a pure function of the bar and
the decision's rank in it, so a bar re-decided after a crash sends the *same* ids, which the
order manager and the venue treat as the same orders — never a duplicate.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

import structlog

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.errors import StrategyError
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import Order, OrderIntent
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.kernel.guard import guarded
from trading_strategy.kernel.sizing import SizeSpec, default_lots
from trading_strategy.market_data.providers.base import BarEvent
from trading_strategy.observability.metrics import StrategyMetrics
from trading_strategy.runtime.bus import Bus, Overflow
from trading_strategy.runtime.execution import FillMessage, SubmitResult
from trading_strategy.runtime.live_context import CancelRequest, LiveContext
from trading_strategy.strategies.base import Strategy
from trading_strategy.strategies.context import FillEvent, OrderEvent

log = structlog.get_logger("trading_strategy.decisions")

_S = OrderStatus
#: statuses a strategy hears of through ``on_order_event`` (fills come with their
#: ``on_fill``; SUBMITTED and PENDING_CANCEL are the order manager's own business, as in a
#: backtest, which has neither)
_TOLD = frozenset({_S.ACCEPTED, _S.REJECTED, _S.DENIED, _S.CANCELLED, _S.EXPIRED})
_FILLS = frozenset({_S.PARTIALLY_FILLED, _S.FILLED})
_STATUS_VALUES = frozenset(s.value for s in OrderStatus)


class OrderTransition(NamedTuple):
    """One journaled status change of one of the strategy's orders."""

    client_order_id: str
    from_status: OrderStatus
    to_status: OrderStatus
    reason: str


class OrderPlaced(NamedTuple):
    """A journaled order of the strategy, as created: one placed for it (an exit of its
    entry, a risk rule's close) joins its context's open orders; its own are known."""

    client_order_id: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    stop_price: Decimal | None
    tif: TimeInForce
    reduce_only: bool
    parent_id: str | None
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
        cls = type(self.strategy)
        self._wants_fills = cls.on_fill is not Strategy.on_fill
        self._wants_events = cls.on_order_event is not Strategy.on_order_event
        # never full: the journal publishes into it synchronously and must not be refused
        # (it holds what happened since the runner's last bar, a few messages)
        self._mine = bus.subscribe(f"strategy.{name}", maxsize=sys.maxsize,
                                   overflow=Overflow.BLOCK, name=f"{name}.orders")
        #: a fill's journaled status waits here for the fill's money (``FillMessage``)
        self._fill_status: dict[str, OrderStatus] = {}
        self._started = False
        self._ready = asyncio.Event()
        self._failure: asyncio.Future[None] | None = None
        self._task: asyncio.Task[Any] | None = None
        self.closed = False
        self.last_bar_ts: int | None = None
        #: the operator's say (``StrategyControl``): "running", "paused" or "stopped"
        self.mode = "running"

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

    # --- the supervised component ------------------------------------------------------------
    async def run(self) -> None:
        """Start the strategy, then hold the runner's place until a step fails."""
        self._task = asyncio.current_task()
        self._start()
        failure = self._failure = asyncio.get_running_loop().create_future()
        self._ready.set()
        try:
            await failure
        finally:
            self._ready.clear()
            self._failure = None

    def _start(self) -> None:
        # a strategy an operator stopped before a restart stays stopped: no ``on_start``
        if not self._started and self.mode != "stopped":
            self._started = True
            self._guard("on_start", self.strategy.on_start)

    # --- the operator's controls (``StrategyControl``, applied in the feed's task) -----------
    def control(self, action: str) -> str | None:
        """Apply ``pause``, ``resume``, ``stop`` or ``start``; returns the new mode, or
        ``None`` when it changes nothing (pausing a paused strategy, starting a running
        one, pausing or resuming a stopped one: ``start`` is what brings it back).

        A strategy error in ``on_stop`` or ``on_start`` goes to the supervised task, as a
        step's does; the mode changes regardless (the operator's word stands)."""
        mode = self.mode
        target = {"pause": "paused", "resume": "running", "stop": "stopped",
                  "start": "running"}[action]
        if target == mode or (mode == "stopped" and action != "start") or \
                (action == "start" and mode != "stopped"):
            return None
        self.mode = target
        try:
            if action == "stop":
                if self._started:  # (stopped before it ever started: nothing to end)
                    self._started = False
                    self._guard("on_stop", self.strategy.on_stop)
            elif action == "start":
                self._start()
        except Exception as exc:
            self._fail(exc)
        return target

    async def wait_ready(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s, else ``TimeoutError``) until the runner can take a
        bar: started, or restarted after a failure. ``False`` once it was closed (flagged)."""
        if not self._ready.is_set() and not self.closed:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        return not self.closed

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and not self.closed

    def close(self) -> None:
        """Stop receiving (a flagged runner must not hold the feed back)."""
        self.closed = True
        self._mine.close()
        self._ready.set()  # wakes a feed waiting for it; ``closed`` tells it to move on

    async def on_stop(self) -> None:
        try:
            if self._started:  # an operator's stop already ended it
                self._guard("on_stop", self.strategy.on_stop)
        finally:
            # the component waits for a failure that will not come: end it now
            task = self._task
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()

    def _fail(self, error: BaseException) -> None:
        """Hand a step's error to the supervised task (which raises it); no bar until the
        supervisor has restarted it."""
        self._ready.clear()
        failure = self._failure
        if failure is not None and not failure.done():
            failure.set_exception(error)

    def _guard(self, callback: str, fn: Callable[[], None]) -> None:
        guarded(self.name, callback, fn)

    def data_health(self, symbol: str, stale: bool) -> None:
        """The feed's ``DataStale`` / ``DataRestored`` for ``symbol``, in the feed's task
        (like ``step``); a failure goes to the supervised task."""
        strategy = self.strategy
        if self.mode == "stopped":
            return
        try:
            if stale:
                self._guard("on_data_stale", lambda: strategy.on_data_stale(symbol))
            else:
                self._guard("on_data_restored", lambda: strategy.on_data_restored(symbol))
        except Exception as exc:
            self._fail(exc)

    # --- one bar -------------------------------------------------------------------------------
    async def step(self, event: BarEvent) -> None:
        """Process one bar of the runner's instrument in the caller's task (the feed's).

        A failure does not propagate: it goes to the supervised task (see :meth:`_fail`).
        """
        try:
            if self._mine.qsize():
                self._drain(event.bar.ts_event)
            if self.mode == "running":
                await self.on_bar(event)
            else:
                self._idle(event)
        except Exception as exc:
            self._fail(exc)

    def _idle(self, event: BarEvent) -> None:
        """A paused or stopped strategy's bar: its context still sees it (indicators and
        history stay whole for the resume), but no decision is asked for, and what its
        callbacks queued meanwhile is dropped, never sent."""
        ctx = self.ctx
        ctx.push_bar(event.bar)
        self.last_bar_ts = event.bar.ts_event
        if ctx.outbox:
            for item in ctx.outbox:
                if isinstance(item, OrderIntent):
                    ctx.forget(item.client_order_id)
            ctx.outbox = []

    def _drain(self, ts_event: int) -> None:
        """Apply (and tell the strategy) what happened to its orders since the last look."""
        mine = self._mine
        while mine.qsize():
            message = mine.get_nowait().message
            if isinstance(message, OrderTransition):
                self._transition(message, ts_event)
            elif isinstance(message, FillMessage):
                self._fill(message)
            elif isinstance(message, OrderPlaced):
                self._placed(message)
            # ``StatusMessage`` is ignored: the journaled transition already told it all

    def _transition(self, message: OrderTransition, ts_event: int) -> None:
        oid, status = message.client_order_id, message.to_status
        self.ctx.apply_transition(oid, status, message.reason, message.from_status)
        if status in _FILLS:
            self._fill_status[oid] = status
        elif self._wants_events and status in _TOLD and not (
                status is _S.ACCEPTED and message.from_status is _S.PENDING_CANCEL):
            # (back to ACCEPTED from PENDING_CANCEL is a refused cancel: nothing new)
            self._tell(OrderEvent(oid, status, message.reason, ts_event))

    def _placed(self, message: OrderPlaced) -> None:
        ctx = self.ctx
        if message.client_order_id in ctx.orders:
            return
        inst = ctx.instrument
        ctx.track(Order(
            id=message.client_order_id, strategy=self.name, symbol=inst.symbol,
            side=message.side, lots=inst.to_lots(message.quantity),
            order_type=message.order_type,
            limit_ticks=None if message.limit_price is None else inst.to_ticks(
                message.limit_price),
            stop_ticks=None if message.stop_price is None else inst.to_ticks(
                message.stop_price),
            tif=message.tif, reduce_only=message.reduce_only, bracket=None,
            created_index=ctx.bar_index, eligible_index=ctx.bar_index + 1,
            ts_init=message.ts_event, parent_id=message.parent_id))

    def _fill(self, message: FillMessage) -> None:
        ctx = self.ctx
        ctx.apply_fill(message.client_order_id, message.side, message.lots,
                       message.price_ticks, message.commission_units, message.ts_event)
        status = self._fill_status.pop(message.client_order_id, None)
        if self._wants_fills and self.mode != "stopped":
            inst = ctx.instrument
            fill = FillEvent(message.client_order_id, message.side,
                             inst.quantity(message.lots), inst.price(message.price_ticks),
                             inst.money(message.commission_units), message.ts_event)
            self._guard("on_fill", lambda: self.strategy.on_fill(fill))
        if self._wants_events and status is not None:
            self._tell(OrderEvent(message.client_order_id, status, "", message.ts_event))

    def _tell(self, event: OrderEvent) -> None:
        if self.mode != "stopped":  # a stopped strategy hears nothing until its start
            self._guard("on_order_event", lambda: self.strategy.on_order_event(event))

    async def on_bar(self, event: BarEvent) -> None:
        ctx = self.ctx
        ts = event.bar.ts_event
        ctx.push_bar(event.bar)
        self.last_bar_ts = ts
        self._k = 0
        try:
            self.strategy.on_bar()
        except Exception as exc:  # ``_guard``'s rule, without a label built for every bar
            ctx.outbox = []  # a failed decision sends nothing (as a backtest would stop)
            if isinstance(exc, StrategyError):
                raise
            raise StrategyError(self.name, f"on_bar at {ts}", exc) from exc
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
                    ctx.forget(item.client_order_id)
            return
        now = ctx.time_ns
        for item in items:
            if isinstance(item, OrderIntent):
                result: SubmitResult = await self.bus.request("execution.submit", item)
            else:
                assert isinstance(item, CancelRequest)
                result = await self.bus.request("execution.cancel", item)
            # what this request journaled (accepted, rejected, cancelled), in order
            self._drain(now)
            self._record(event, item, result)

    def _record(self, event: BarEvent, item: OrderIntent | CancelRequest,
                result: SubmitResult) -> None:
        ctx = self.ctx
        if isinstance(item, OrderIntent):
            order = ctx.orders.get(result.client_order_id)
            if order is not None and order.status is _S.CREATED and \
                    result.status in ("denied", "rejected"):
                # refused before the order manager journaled it (the risk gate, or an
                # error on the way): it never reached a venue
                ctx.deny(order.id, result.reason)
                if self._wants_events:
                    self._tell(OrderEvent(order.id, _S.DENIED, result.reason, ctx.time_ns))
            elif order is not None:
                if result.lots:
                    order.lots = result.lots  # the risk engine's size
                if order.status is _S.CREATED and result.status in _STATUS_VALUES:
                    # decided again after a restart: the journal already had the order and
                    # nothing changed it now; the mirror meets it where it is
                    ctx.catch_up(order.id, OrderStatus(result.status))
        intent: dict[str, Any] = ({"cancel": item.client_order_id}
                                  if isinstance(item, CancelRequest) else
                                  {"side": item.side.value, "lots": item.lots,
                                   "type": item.order_type.value,
                                   "limit": item.limit_ticks, "stop": item.stop_ticks})
        log.info("decision", strategy=self.name, instrument=self.symbol,
                 inputs={"bar_ts": event.bar.ts_event, "close": event.bar.close,
                         "position": ctx.position_lots},
                 intent=intent, verdict=result.status, reason=result.reason,
                 order_id=result.client_order_id)
