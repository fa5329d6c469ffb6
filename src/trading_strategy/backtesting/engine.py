"""The event-driven backtest: a simulated clock steps through bars and a simulated venue fills.

Per bar *i* the engine (1) matches the open orders that are eligible on bar *i* against its
OHLC (``fills``), applying slippage, commission and the volume cap, (2) moves every series'
cursor to *i* and (3) calls the strategy's ``on_bar``. It makes no Python object per bar: bars
are numpy columns, indicators are precomputed (or updated in O(1)), and the order book is
touched only when orders exist. Cash and positions live in an integer ``Ledger``; the equity
curve is rebuilt at the end, vectorized, from the ledger's state after each bar with fills.

Every order passes the pre-trade gate (``PreTradeGate``) before the simulated venue sees it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from trading_strategy.backtesting.context import BacktestContext
from trading_strategy.backtesting.settings import BacktestSettings, IndicatorMode
from trading_strategy.core.bars import BarSeries
from trading_strategy.core.enums import OPEN_STATUSES, OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.errors import ConfigError, StrategyError
from trading_strategy.core.orders import Bracket, Fill, Order, OrderIntent
from trading_strategy.kernel.exits import ExitBook, trade_end_cancels
from trading_strategy.kernel.guard import guarded
from trading_strategy.kernel.intents import order_prices, quantity_lots
from trading_strategy.kernel.matching import Matcher, utc_day
from trading_strategy.kernel.order_states import accept, move
from trading_strategy.kernel.sizing import SizeKind, default_lots
from trading_strategy.portfolio.ledger import Ledger
from trading_strategy.strategies.base import Strategy
from trading_strategy.strategies.context import (
    Bars,
    Cursor,
    FillEvent,
    IncrementalBuilder,
    OrderEvent,
    OrderSpec,
    Series,
    VectorizedBuilder,
)

IntArray = npt.NDArray[np.int64]
_BUY = Side.BUY
_MARKET = OrderType.MARKET
_DAY = TimeInForce.DAY
#: enum members as module constants: a class attribute read costs ~10x a global's
_FILLED = OrderStatus.FILLED
_PARTIAL = OrderStatus.PARTIALLY_FILLED
_NO_IDS: frozenset[str] = frozenset()
#: ``Order.is_open`` without a property call, where the engine filters its book per fill
_OPEN = OPEN_STATUSES
_CHUNK = 65_536
#: objects allocated between young-generation collections during a run (Python's is 700)
_GC_YOUNG = 50_000


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The gate's answer: ``lots`` to place (possibly resized) or ``None`` with a reason."""

    lots: int | None
    code: str = "accepted"
    message: str = ""


class GateAnswer(Protocol):
    """What the engine reads of a gate's answer: ``GateDecision`` or the kernel's own
    decision, handed on as it is (no copy per order)."""

    @property
    def lots(self) -> int | None: ...

    @property
    def code(self) -> str: ...

    @property
    def message(self) -> str: ...


class PreTradeGate(Protocol):
    def check(self, intent: OrderIntent, engine: BacktestEngine) -> GateAnswer: ...

    def on_bar(self, engine: BacktestEngine, i: int) -> None: ...

    def entry_bracket(self, order: Order, fill_t: int, i: int) -> Bracket | None:
        """Exits the risk settings attach to an entry filled at ``fill_t`` (or None)."""
        ...

    def fill_cap(self, engine: BacktestEngine, order: Order, lots: int,
                 fill_t: int) -> tuple[int, str] | None:
        """The most lots a fill of ``lots`` of ``order`` at ``fill_t`` may have under the size
        caps, and the cap's reason code; ``None`` when no cap is set."""
        ...


class OpenGate:
    """No limits configured: every well-formed order passes."""

    needs_bar_updates = False

    def check(self, intent: OrderIntent, engine: BacktestEngine) -> GateDecision:
        return GateDecision(intent.lots)

    def on_bar(self, engine: BacktestEngine, i: int) -> None:
        return None

    def entry_bracket(self, order: Order, fill_t: int, i: int) -> Bracket | None:
        return None

    def fill_cap(self, engine: BacktestEngine, order: Order, lots: int,
                 fill_t: int) -> tuple[int, str] | None:
        return None


@dataclass(slots=True)
class RunState:
    """What the engine accumulates besides the ledger."""

    fills: list[Fill] = field(default_factory=list)
    closed_orders: list[Order] = field(default_factory=list)
    snap_bar: list[int] = field(default_factory=list)
    snap_cash: list[int] = field(default_factory=list)
    snap_pos: list[int] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    rejections: dict[str, int] = field(default_factory=dict)


class BacktestEngine:
    def __init__(
        self,
        strategy_cls: type[Strategy],
        params: Mapping[str, Any] | None,
        bars: BarSeries,
        settings: BacktestSettings,
        *,
        gate: PreTradeGate | None = None,
        record_decisions: bool = False,
        name: str | None = None,
    ) -> None:
        if len(bars) == 0:
            raise ValueError("no bars to backtest")
        self.bars = bars
        self.settings = settings
        self.instrument = inst = bars.instrument
        # a portfolio names each strategy (two of one class on two symbols): order ids and
        # the risk engine's keys use that name, as a session's runner does
        self.strategy_name = name or strategy_cls.name
        self.params = strategy_cls.parse_params(params)
        self.set_gate(gate or OpenGate())
        self.record_decisions = record_decisions
        tick = float(inst.tick_size)
        self.open_t: IntArray = np.rint(bars.open / tick).astype(np.int64)
        self.high_t: IntArray = np.rint(bars.high / tick).astype(np.int64)
        self.low_t: IntArray = np.rint(bars.low / tick).astype(np.int64)
        self.close_t: IntArray = np.rint(bars.close / tick).astype(np.int64)
        cash_units = int((settings.initial_cash / inst.money_unit).to_integral_value())
        if cash_units >= 2**62:
            raise ConfigError(f"initial cash {settings.initial_cash} is too large for "
                              f"{inst.symbol}'s precision (tick {inst.tick_size} × lot "
                              f"{inst.lot_size}); use less cash or a coarser tick")
        self.ledger = Ledger(cash_units)
        self.initial_cash_units = self.ledger.cash
        self.commission_fn = settings.commission.bind(inst)
        self.slippage_fn = settings.slippage.bind(inst, bars)
        self.state = RunState()
        #: a fixed default size depends on neither the side nor any price or amount: the
        #: kernel's answer, asked once rather than per order (a Decimal division each)
        self._fixed_lots: tuple[int, bool] | None = None
        if settings.size.kind is SizeKind.FIXED:
            self._fixed_lots = default_lots(
                settings.size, inst, _BUY, price_ticks=0, position_lots=0, cash_units=0,
                equity_units=0, commission=self.commission_fn)
        self._latency_ms = settings.latency_ms
        self._latency_bars = settings.latency_bars
        self.orders: list[Order] = []
        self._by_id: dict[str, Order] = {}
        self._seq = 0
        self._fresh_exits = False
        self._event_i = -1
        self._exits = ExitBook(self.strategy_name)
        self._had_exits = False
        cursor = self.cursor = Cursor()
        builder = (IncrementalBuilder(cursor)
                   if settings.indicator_mode is IndicatorMode.INCREMENTAL
                   else VectorizedBuilder(cursor))
        self._builder = builder
        self._incremental = settings.indicator_mode is IndicatorMode.INCREMENTAL
        self._advance: Callable[[], None] | None = None
        self._volume_capped = False
        self._gate_on_bar: Callable[[BacktestEngine, int], None] | None = None

        def series(name: str, arr: npt.NDArray[np.float64]) -> Series:
            return Series(name, None, cursor, arr)

        self.ctx = BacktestContext(self, cursor, builder, Bars(
            series("open", bars.open), series("high", bars.high), series("low", bars.low),
            series("close", bars.close), series("volume", bars.volume)))
        self.strategy = strategy_cls(self.ctx, self.params)
        cls = type(self.strategy)
        self._wants_fills = cls.on_fill is not Strategy.on_fill
        self._wants_events = cls.on_order_event is not Strategy.on_order_event
        #: events the strategy's decisions caused, told after the callback that decided
        self._told: list[OrderEvent] = []
        #: orders a fill ended, told after that fill's own events
        self._held: list[Order] | None = None

    def set_gate(self, gate: PreTradeGate) -> None:
        """Install the pre-trade gate (before ``run``; a gate may need the engine to exist)."""
        self.gate = gate
        self._gate_brackets = not isinstance(gate, OpenGate)
        #: a risk gate decides on zero-lot orders itself (a sizing method may size them)
        self._gate_sizes = not isinstance(gate, OpenGate)
        #: re-check size caps at each entry fill (only when the gate has caps: a fast path)
        self._fill_caps = bool(getattr(gate, "caps_positions", False))

    # --- the loop --------------------------------------------------------------------------
    def run(self, progress: Callable[[int, int], None] | None = None) -> None:
        """``start()``, ``step(i)`` for every bar, ``finish()`` — in one tight loop.

        The cyclic garbage collector runs less often meanwhile: orders, fills and trades
        are long-lived objects made by the ten thousand, and each young-generation pass
        (every 700 allocations by default) walks them again; some 8 % of a million-bar
        run. Cycles are still collected, and the caller's thresholds come back after."""
        thresholds = gc.get_threshold()
        gc.set_threshold(max(thresholds[0], _GC_YOUNG), *thresholds[1:])
        try:
            self._run(progress)
        finally:
            gc.set_threshold(*thresholds)

    def _run(self, progress: Callable[[int, int], None] | None) -> None:
        n = len(self.bars)
        self.start()
        on_bar = self.strategy.on_bar
        cursor = self.cursor
        orders = self.orders
        advance, gate_on_bar = self._advance, self._gate_on_bar
        name = self.strategy_name
        told, told_later = self._told, self._wants_events
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            if gate_on_bar is None and advance is None and not told_later:
                # the common case gets the tightest loop: one branch and one call per bar
                for i in range(start, stop):
                    if orders:
                        self._match_bar(i)  # callbacks during matching see bar i-1 as "now"
                    cursor.i = i
                    try:
                        on_bar()
                    except StrategyError:
                        raise
                    except Exception as exc:
                        raise StrategyError(name, f"on_bar at bar {i}", exc) from exc
            else:
                # step(i), inlined: a method call per bar costs measurably at a million bars
                for i in range(start, stop):
                    if orders:
                        self._match_bar(i)
                    if gate_on_bar is not None:
                        cursor.i = i
                        gate_on_bar(self, i)  # its exits and flattens are told before on_bar
                        if told:
                            self._tell_between(i)
                    cursor.i = i
                    if advance is not None:
                        advance()
                    try:
                        on_bar()
                    except StrategyError:
                        raise
                    except Exception as exc:
                        raise StrategyError(name, f"on_bar at bar {i}", exc) from exc
                    if told:
                        self._tell()
            if progress is not None:
                progress(stop, n)
        self.finish()

    def start(self) -> None:
        """Begin a run driven bar by bar (``run`` or a portfolio driver): calls ``on_start``."""
        self._matcher = Matcher(
            self.instrument, self.ledger, commission=self.commission_fn,
            slippage=self.slippage_fn, volume_participation=self.settings.volume_participation,
            on_fill=self._execute, on_close=self._venue_close,
            cap_fill=self._cap_fill if self._fill_caps else None)
        self._volume_capped = self.settings.volume_participation is not None
        self._advance = self._builder.advance if self._incremental else None
        self._gate_on_bar = self.gate.on_bar \
            if getattr(self.gate, "needs_bar_updates", False) else None
        self._guard("on_start", self.strategy.on_start)

    def step(self, i: int) -> None:
        """Everything a run does for bar ``i``: match the resting orders against it, move the
        cursor (and incremental indicators), the gate's per-bar work, then ``on_bar``.
        Bars must be stepped in order from 0, after ``start()``."""
        if self.orders:
            self._match_bar(i)
        if self._gate_on_bar is not None:
            self.cursor.i = i
            self._gate_on_bar(self, i)
            if self._told:
                self._tell_between(i)
        self.cursor.i = i
        if self._advance is not None:
            self._advance()
        try:
            self.strategy.on_bar()
        except StrategyError:
            raise
        except Exception as exc:
            raise StrategyError(self.strategy_name, f"on_bar at bar {i}", exc) from exc
        if self._told:  # what the bar's decisions caused, right after on_bar returns
            self._tell()

    def finish(self) -> None:
        """End a run: calls ``on_stop``."""
        self._guard("on_stop", self.strategy.on_stop)
        if self._told:
            self._tell()

    def _guard(self, name: str, fn: Callable[[], None]) -> None:
        guarded(self.strategy_name, name, fn)

    # --- state queries ---------------------------------------------------------------------
    def equity_units(self, i: int) -> int:
        return self.ledger.cash + self.ledger.position * int(self.close_t[i])

    def equity_curve_units(self) -> IntArray:
        n = len(self.bars)
        st = self.state
        # the ledger after each bar is its last snapshot at or before it (snapshots are
        # taken at increasing bars): each snapshot's values repeated up to the next one
        starts = np.asarray(st.snap_bar, dtype=np.int64)
        counts = np.diff(starts, prepend=np.int64(0), append=np.int64(n))
        cash = np.repeat(np.asarray([self.initial_cash_units, *st.snap_cash], dtype=np.int64),
                         counts)
        pos = np.repeat(np.asarray([0, *st.snap_pos], dtype=np.int64), counts)
        self.position_curve = pos
        return cash + pos * self.close_t

    # --- orders ----------------------------------------------------------------------------
    def submit(self, spec: OrderSpec) -> str:
        # one unpacking of the tuple rather than ten attribute reads
        (side, quantity, order_type, limit, stop, tif, stop_loss, take_profit, reduce_only,
         tag) = spec
        inst = self.instrument
        i = self.cursor.i
        if i < 0:
            raise ValueError("orders can be placed from the first on_bar on (on_start has "
                             "seen no price yet)")
        # a callback during bar i's matching decides at bar i (eligibility, DAY orders),
        # but only knows prices up to bar i-1's close (sizing)
        decided = self._event_i if self._event_i >= 0 else i
        self._seq += 1
        name = self.strategy_name
        oid = f"{name}-{self._seq:06d}"
        if order_type is _MARKET and limit is None and stop is None \
                and stop_loss is None and take_profit is None:
            limit_t = stop_t = bracket = None  # what order_prices gives a plain market order
        else:
            limit_t, stop_t, bracket = order_prices(inst, order_type, limit=limit, stop=stop,
                                                    stop_loss=stop_loss,
                                                    take_profit=take_profit)
        close_t = int(self.close_t[i])
        size_at_fill = False
        if quantity is None:
            lots, size_at_fill = self._default_lots(side, close_t)
        else:
            lots = quantity_lots(inst, quantity)
        ts = int(self.bars.ts[i])
        symbol = inst.symbol
        # positional: one of each per order, and keywords cost measurably at that rate
        intent = OrderIntent(oid, name, symbol, side, lots, order_type, limit_t, stop_t, tif,
                             reduce_only, bracket, ts, close_t, size_at_fill)
        eligible = (decided + self._latency_bars if self._latency_ms is None
                    else self._eligible(decided))
        order = Order(oid, name, symbol, side, lots, order_type, limit_t, stop_t, tif,
                      reduce_only, bracket, decided, eligible, ts, close_t,
                      size_at_fill=size_at_fill)
        order.tag = tag
        if tif is _DAY and eligible < len(self.bars):
            # a DAY order lives for the UTC day of its first eligible bar
            order.first_day = utc_day(int(self.bars.ts[order.eligible_index]))
        self._by_id[oid] = order
        if lots <= 0 and not self._gate_sizes:
            self._deny(order, "zero_size", "order size rounds to zero lots")
            return oid
        decision = self.gate.check(intent, self)
        if decision.lots is None:
            self._deny(order, decision.code, decision.message)
            return oid
        if decision.lots != lots or self._fill_caps:
            # an all-in order re-sized at its fill must stay within what the gate allowed
            order.lots = decision.lots
            order.max_lots = decision.lots
        if self.record_decisions:
            self.log_decision("order", {"id": oid, "side": side.value, "lots": order.lots,
                                        "type": order_type.value, "verdict": decision.code})
        accept(order)
        self.orders.append(order)
        if self._wants_events:
            self._told.append(self._event_of(order))
        return oid

    def _eligible(self, i: int) -> int:
        ms = self.settings.latency_ms
        if ms is None:
            return i + self.settings.latency_bars
        ts = self.bars.ts
        arrival = int(ts[i]) + self.bars.timeframe.nanoseconds + ms * 1_000_000
        # the first bar that opens at or after the order reaches the venue
        return max(i + 1, int(np.searchsorted(ts, arrival, side="left")))

    def _default_lots(self, side: Side, price_t: int) -> tuple[int, bool]:
        fixed = self._fixed_lots
        if fixed is not None:
            return fixed
        ledger = self.ledger
        return default_lots(self.settings.size, self.instrument, side, price_ticks=price_t,
                            position_lots=ledger.position, cash_units=ledger.cash,
                            equity_units=self.equity_units(self.cursor.i),
                            commission=self.commission_fn)

    def cancel(self, order_id: str, reason: str, *, by_strategy: bool = False) -> bool:
        """Cancel an open order at once (the simulated venue confirms it right away). The
        strategy hears of it in order with the other events of the decision: of its own
        cancel after the callback that asked; of the risk gate's before its next
        ``on_bar``, with the flatten that may follow it. (``by_strategy`` is kept for
        callers; both are told the same way.)"""
        del by_strategy
        order = self._by_id.get(order_id)
        if order is None or not order.is_open:
            return False
        self._close(order, OrderStatus.CANCELLED, reason, told_later=True)
        return True

    def _deny(self, order: Order, code: str, message: str) -> None:
        """The gate refused the order before the venue saw it (CREATED → DENIED); counted
        by code in ``state.rejections`` like the venue's refusals, so reports keep them."""
        reason = f"{code}: {message}" if message else code
        move(order, OrderStatus.DENIED, reason)
        self.state.rejections[code] = self.state.rejections.get(code, 0) + 1
        self.state.closed_orders.append(order)
        if self.record_decisions:
            self.log_decision("order_rejected", {"id": order.id, "code": code, "why": message})
        if self._wants_events:
            self._told.append(self._event_of(order))

    def _reject(self, order: Order, code: str, message: str) -> None:
        """The simulated venue refuses an accepted order at its fill (size caps)."""
        reason = f"{code}: {message}" if message else code
        self.state.rejections[code] = self.state.rejections.get(code, 0) + 1
        if self.record_decisions:
            self.log_decision("order_rejected", {"id": order.id, "code": code, "why": message})
        self._close(order, OrderStatus.REJECTED, reason)

    def _close(self, order: Order, status: OrderStatus, reason: str, *,
               told_later: bool = False) -> None:
        move(order, status, reason)
        if order.parent_id is not None:
            self._exits.forget(order.id)
        self.state.closed_orders.append(order)
        if self._wants_events:
            if told_later:
                self._told.append(self._event_of(order))
            elif self._held is not None:
                self._held.append(order)
            else:
                self._order_event(order)

    def _event_of(self, order: Order) -> OrderEvent:
        i = self._event_i if self._event_i >= 0 else max(self.cursor.i, 0)
        return OrderEvent(order.id, order.status, order.reason, int(self.bars.ts[i]))

    def _order_event(self, order: Order) -> None:
        """Tell the strategy now (an event of matching); what it decides in the callback is
        told right after it returns."""
        if self._wants_events:
            event = self._event_of(order)
            self._guard("on_order_event", lambda: self.strategy.on_order_event(event))
            if self._told:
                self._tell()

    def _tell_between(self, i: int) -> None:
        """Tell what the gate's per-bar work at bar ``i`` decided (risk cancels, flattens,
        time exits, moved stops) between bars, as callbacks of bar ``i``'s matching are told
        and a session's runner tells them: the strategy still sees bar ``i - 1`` as now, and
        what it decides in them is decided at bar ``i`` (as in matching's callbacks)."""
        self.cursor.i = i - 1
        self._event_i = i
        try:
            self._tell()
        finally:
            self.cursor.i = i
            self._event_i = -1

    def _tell(self) -> None:
        """Deliver the events the strategy's decisions caused (accepted, denied, its own
        cancels), in order; events its callbacks cause meanwhile join the queue."""
        told = self._told
        on_order_event = self.strategy.on_order_event
        k = 0
        while k < len(told):
            event = told[k]
            k += 1
            self._guard("on_order_event", lambda: on_order_event(event))  # noqa: B023
        told.clear()

    # --- matching --------------------------------------------------------------------------
    def _match_bar(self, i: int) -> None:
        orders = self.orders
        if len(orders) == 1:  # the common case: one order, nothing to filter
            if orders[0].eligible_index > i:
                return
            candidates = orders[:]
        else:
            candidates = [o for o in orders if o.eligible_index <= i]
            if not candidates:
                return
        self._event_i = i
        ts = int(self.bars.ts[i])
        o_t = int(self.open_t[i])
        h_t = int(self.high_t[i])
        l_t = int(self.low_t[i])
        # the volume matters only under a participation cap (a numpy read saved per bar)
        volume = float(self.bars.volume[i]) if self._volume_capped else 0.0
        matcher = self._matcher
        if len(candidates) == 1:  # the common case: nothing to sort
            only = candidates[0]
            if only.is_open:  # not cancelled since the last bar
                matcher.match_order(only, i, ts, o_t, h_t, l_t, volume)
        else:
            matcher.match(candidates, i, ts, o_t, h_t, l_t, volume)
        if len(orders) == 1:  # nothing added meanwhile: keep it or drop it
            if orders[0].status not in _OPEN:
                orders.clear()
        else:
            orders[:] = [o for o in orders if o.status in _OPEN]
        if self._fresh_exits:
            # exits created by fills at this bar's open are live for the rest of the bar
            self._fresh_exits = False
            fresh = [o for o in self.orders if o.eligible_index == i and o.created_index == i
                     and o.parent_id is not None]
            matcher.match(fresh, i, ts, o_t, h_t, l_t, volume)
            self.orders[:] = [o for o in self.orders if o.is_open]
        self._event_i = -1

    def _venue_close(self, order: Order, status: OrderStatus, reason: str) -> None:
        """The matcher ends an order (expired, IOC, nothing to reduce, or cash)."""
        if status is OrderStatus.REJECTED:
            self.state.rejections["insufficient_cash"] = \
                self.state.rejections.get("insufficient_cash", 0) + 1
        self._close(order, status, reason)

    def _cap_fill(self, order: Order, lots: int, fill_t: int) -> int:
        """The size caps re-checked at the fill price (the gate checked the decision close;
        a market order fills at the next open, which may have gapped). A cut fill shrinks the
        order, so it ends FILLED at the size the caps allow; nothing allowed ends it."""
        capped = self.gate.fill_cap(self, order, lots, fill_t)
        if capped is None or capped[0] >= lots:
            return lots
        allowed, code = capped
        if allowed <= 0:
            message = (f"the size caps allow no more lots at the fill price "
                       f"{self.instrument.price(fill_t)}")
            if order.filled_lots:
                self._close(order, OrderStatus.CANCELLED, f"{code}_at_fill: {message}")
            else:
                self._reject(order, f"{code}_at_fill", message)
            return 0
        order.lots = order.filled_lots + allowed
        return allowed

    def _execute(self, order: Order, i: int, ts: int, lots: int, fill_t: int, commission: int,
                 slippage: int, taker: bool, at_open: bool) -> None:
        """Book a fill the matcher made: ledger, snapshot, status, exits, callbacks."""
        ledger = self.ledger
        sign = 1 if order.side is _BUY else -1
        was_open_trade = ledger.open_trade
        before = ledger.position
        ledger.apply_fill(sign, lots, fill_t, commission, slippage, ts, i)
        st = self.state
        if st.snap_bar and st.snap_bar[-1] == i:
            st.snap_cash[-1] = ledger.cash
            st.snap_pos[-1] = ledger.position
        else:
            st.snap_bar.append(i)
            st.snap_cash.append(ledger.cash)
            st.snap_pos.append(ledger.position)
        fill = Fill(order.id, order.strategy, order.symbol, order.side, lots, fill_t, ts, i,
                    commission, slippage)
        st.fills.append(fill)
        order.filled_lots += lots
        if order.filled_lots >= order.lots:
            move(order, _FILLED)
            st.closed_orders.append(order)
        else:
            move(order, _PARTIAL)
        # what the fill ends (the sibling exit, orders of a closed trade) ends now, and is
        # told after the fill itself, as a venue reports it
        held = None
        if self._wants_events:
            held = self._held = []
        if order.parent_id is not None and order.status is _FILLED:
            for sibling in self._exits.on_exit_fill(order.id, complete=True):
                self._cancel_exit(sibling, "one-cancels-other sibling filled")
        if ledger.position == 0 or ledger.open_trade is not was_open_trade:
            self._cancel_orphan_exits()
        self._held = None
        position = ledger.position
        reversed_ = before != 0 and (position > 0) != (before > 0) and position != 0
        opened = abs(position) if reversed_ else max(0, abs(position) - abs(before))
        made: Sequence[Order] = ()
        if opened and not order.reduce_only and order.parent_id is None:
            if order.bracket is None and self._gate_brackets:
                order.bracket = self.gate.entry_bracket(order, fill_t, i)
            if order.bracket is not None:
                made = self._protect(order, opened, i, fill_t, at_open)
        if self._wants_fills:
            inst = self.instrument
            event = FillEvent(order.id, order.side, inst.quantity(lots), inst.price(fill_t),
                              inst.money(commission), ts)
            self._guard("on_fill", lambda: self.strategy.on_fill(event))
            if self._told:
                self._tell()
        if self._wants_events:
            self._order_event(order)
            for ended in held or ():
                self._order_event(ended)
            for exit_order in made:  # the entry's exits, accepted once it filled
                if exit_order.is_open:
                    self._order_event(exit_order)

    def _cancel_orphan_exits(self) -> None:
        """Exits of a trade that ended, reduce-only orders once flat, and the unfilled rest
        of entries whose trade was closed (it would reopen a position with no stop)."""
        working = [(o.id, o.reduce_only, o.status is OrderStatus.PARTIALLY_FILLED)
                   for o in self.orders if o.is_open]
        if not working and not self._had_exits:
            return  # nothing to cancel (once per fill: the fast path)
        # a strategy that never had exits skips the book
        exits = set(self._exits.on_flat()) if self._had_exits else _NO_IDS
        by_id = self._by_id
        for oid in trade_end_cancels(self.ledger.position == 0, exits, working):
            order = by_id[oid]
            if order.is_open:  # a cancel's callback may have ended it meanwhile
                self._close(order, OrderStatus.CANCELLED, "position closed")

    def move_exit(self, order: Order, *, stop_ticks: int, reason: str) -> Order:
        """Move an open exit's stop (a trailing stop) the way a venue without amend does, and
        a session does: a new order, the exit's next generation (``-sl2``, ...) for what is
        left of it, live from the next bar, then the old one cancelled. The strategy hears
        both (accepted, then cancelled) before its next ``on_bar``."""
        i = self.cursor.i
        new = Order(
            id=self._exits.replace(order.id), strategy=order.strategy, symbol=order.symbol,
            side=order.side, lots=order.lots - order.filled_lots, order_type=order.order_type,
            limit_ticks=order.limit_ticks, stop_ticks=stop_ticks, tif=order.tif,
            reduce_only=True, bracket=None, created_index=i, eligible_index=i + 1,
            ts_init=int(self.bars.ts[i]), decision_ticks=int(self.close_t[i]),
            parent_id=order.parent_id)
        accept(new)
        self._by_id[new.id] = new
        self.orders.append(new)
        if self._wants_events:
            self._told.append(self._event_of(new))
        self._close(order, OrderStatus.CANCELLED, reason, told_later=True)
        return new

    def _cancel_exit(self, order_id: str, reason: str) -> None:
        order = self._by_id.get(order_id)
        if order is not None and order.is_open:
            self._close(order, OrderStatus.CANCELLED, reason)

    def _protect(self, entry: Order, lots: int, i: int, fill_t: int,
                 at_open: bool) -> list[Order]:
        """Create the entry's exits at its first fill (``ExitBook``); grow them later."""
        plan = self._exits.on_entry_fill(entry.id, entry.symbol, entry.side, lots,
                                         entry.bracket, ts=int(self.bars.ts[i]),
                                         fill_ticks=fill_t)
        for oid, more in plan.grow:
            self._by_id[oid].lots += more
        if not plan.create:
            return []
        made = []
        self._had_exits = True
        # filled at the open: the exits are live for the rest of this bar; else from the next
        eligible = i if at_open else i + 1
        for leg in plan.create:
            exit_order = Order(
                id=leg.client_order_id, strategy=leg.strategy, symbol=leg.symbol,
                side=leg.side, lots=leg.lots, order_type=leg.order_type,
                limit_ticks=leg.limit_ticks, stop_ticks=leg.stop_ticks, tif=leg.tif,
                reduce_only=True, bracket=None, created_index=i, eligible_index=eligible,
                ts_init=leg.ts_init, decision_ticks=leg.decision_ticks, parent_id=entry.id,
            )
            accept(exit_order)
            self._by_id[exit_order.id] = exit_order
            self.orders.append(exit_order)
            made.append(exit_order)
        self._fresh_exits = self._fresh_exits or eligible == i
        return made

    # --- decisions log ---------------------------------------------------------------------
    def log_decision(self, event: str, fields: Mapping[str, Any]) -> None:
        if self.record_decisions:
            i = max(self.cursor.i, 0)
            self.state.decisions.append({"event": event, "bar": i,
                                         "ts": int(self.bars.ts[i]), **fields})
