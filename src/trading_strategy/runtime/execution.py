"""The execution component: the one path from a strategy's intent to a venue, and back.

It owns the risk engine (and its account view), the order manager (and through it the
append-only journal), the venue adapter, and one ledger per strategy for P&L attribution.
Strategy runners reach it only by bus requests (``execution.submit``, ``execution.cancel``);
fills and status changes go back to them as messages on ``strategy.<name>``.

Order of work for a market event (what makes a replayed paper session match a backtest):
the venue matches resting orders against the new bar first, the fills are journaled and
applied to the ledgers and published, equity is marked and fed to the risk engine, and only
then do strategies see the bar.

**One at a time.** An exchange venue reports fills on its own, applied by another task
(``runtime.venue_reports``) while bars and strategies' requests flow, and a reconnect's
reconciliation runs beside them too. The synchronous part of applying a report (journal,
ledger, account) is atomic on the event loop, but what follows it awaits the venue (exits
placed or grown, siblings and flat-trade exits cancelled) and so does a bar's work (trailing
stops, time exits, owed cancels): two of those interleaved could replace the same exit
twice, decide on a half-updated exit book or cancel an order twice. After ``serialise()``
the entry points (``on_bar``, ``on_report``, ``submit``, ``cancel``, ``flush_cancels``,
``flush_resends``, ``restore_obligations``) hold one ``asyncio.Lock``, re-entrant for the task
that holds it (a bar's fills apply reports, a fill's exits submit orders). A report waits
for the bar or request in progress and is applied right after it, not at the next bar: a
fill's protective exits go out as soon as it is known. Without ``serialise()`` (a paper venue
fed in-process: one task does everything) nothing is locked and a replay pays nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

import structlog

from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.errors import RetryableError, TradingStrategyError
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import Bracket, OrderIntent
from trading_strategy.kernel.exits import ExitBook, exit_leg, leg_id, trade_end_cancels
from trading_strategy.kernel.gate import (
    GateView,
    StrategyGate,
    WorkingOrder,
    projected_position,
)
from trading_strategy.kernel.protections import (
    AtrTracker,
    Protections,
    RestingOrder,
    state_actions,
)
from trading_strategy.market_data.providers.base import BarEvent
from trading_strategy.observability.metrics import SessionMetrics
from trading_strategy.observability.order_stats import order_reference, order_stats
from trading_strategy.orders.events import OrderFilled
from trading_strategy.orders.journal import Journal, JournalEntry
from trading_strategy.orders.manager import OrderManager
from trading_strategy.orders.state import ManagedOrder, UnknownOrder
from trading_strategy.orders.venues.base import FillReport, StatusReport, Venue, VenueReport
from trading_strategy.portfolio.ledger import Ledger
from trading_strategy.risk import RiskEngine, TradingStateChange
from trading_strategy.runtime import faults
from trading_strategy.runtime.live_context import CancelRequest

log = structlog.get_logger("trading_strategy.execution")

#: feeds one bar to the venue and returns the reports it caused (paper venues)
BarFeed = Callable[[BarEvent], Awaitable[list[VenueReport]]]
#: where state changes and verdicts are recorded (the session stores them)
EventSink = Callable[[str, dict[str, Any]], None]
_T = TypeVar("_T")


class FillMessage(NamedTuple):
    client_order_id: str
    side: Side
    lots: int
    price_ticks: int
    commission_units: int
    ts_event: int


class StatusMessage(NamedTuple):
    client_order_id: str
    status: OrderStatus
    reason: str


class SubmitResult(NamedTuple):
    client_order_id: str
    status: str  # the order status, or "denied" when the risk engine refused it
    reason: str
    lots: int


@dataclass(frozen=True, slots=True)
class StrategySlot:
    name: str
    symbol: str
    capital: Decimal


def stop_id(entry_id: str, generation: int) -> str:
    """The id of an entry's ``generation``-th stop-loss order (1: the first)."""
    return leg_id(entry_id, "sl", generation)


class Execution:
    def __init__(
        self,
        *,
        risk: RiskEngine,
        journal: Journal,
        session_id: str,
        venue: Venue,
        venue_name: str,
        instruments: Mapping[str, Instrument],
        slots: list[StrategySlot],
        metrics: SessionMetrics,
        publish: Callable[[str, object], Awaitable[int]],
        feed_venue: BarFeed | None = None,
        sink: EventSink | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.risk = risk
        self.venue = venue
        #: when the venue's answer to each submit arrived (perf_counter ns), by client id
        self._acked: dict[str, int] = {}
        self._timed_venue = _AckTimer(venue, self._acked)
        self.venue_name = venue_name
        self.instruments = dict(instruments)
        self.metrics = metrics
        self._publish = publish
        self._feed_venue = feed_venue
        self._sink = sink or (lambda kind, data: None)
        self._now = clock
        self.slots = {s.name: s for s in slots}
        self._names_by_symbol: dict[str, tuple[str, ...]] = {}
        for slot in slots:
            self._names_by_symbol[slot.symbol] = (*self._names_by_symbol.get(slot.symbol, ()),
                                                  slot.name)
        #: each strategy's equity (risk units) at its last bar: the portfolio total sums them
        self._equities: dict[str, int] = {}
        self._unit_float = {sym: float(i.money_unit) for sym, i in self.instruments.items()}
        self.manager = OrderManager(journal, session_id=session_id, clock=_Clock(clock),
                                    instruments=instruments)
        # each strategy's ledger counts money in its own instrument's units (tick × lot),
        # the units its fills are booked in; the risk account adds them up in the risk
        # engine's common unit (``_risk_units``), so one instrument never rescales another
        self.ledgers = {
            s.name: Ledger(int((s.capital / self.instruments[s.symbol].money_unit)
                               .to_integral_value()))
            for s in slots}
        self.account = risk.new_account(equity=sum(
            self._risk_units(s.symbol, self.ledgers[s.name].cash) for s in slots))
        self.last_ticks: dict[str, int] = {}
        self._journal = journal
        self._pending_cancels: list[str] = []
        #: why a pending cancel was asked and by whom, when not by a risk state change
        self._cancel_causes: dict[str, tuple[str, str]] = {}
        #: strategies a halt told to flatten, with the halt's time (closed after the cancels)
        self._pending_flatten: list[tuple[str, int]] = []
        #: per strategy: returns of its closed trades, for Kelly sizing (extended as they close)
        self._closed_returns: dict[str, list[float]] = {}
        self._realized: dict[str, tuple[int, int]] = {}
        #: per strategy: which protective exits exist (``kernel.exits``); an exit id of the
        #: book stands for the newest generation of that exit at the venue (``_live``)
        self._books = {s.name: ExitBook(s.name) for s in slots}
        self._live: dict[str, str] = {}
        #: strategies stopped by reconciliation: only an operator may let them trade again
        self.operator_halts: set[str] = set()
        self._bar_daily: dict[str, bool] = {}
        #: pre-venue orders found on a restart: client id → the market time from which the
        #: venue may have them (their decision); sent before the first bar at or after it
        self._resend: dict[str, int] = {}
        #: recovery bookkeeping from the journal: each order's first fill, and per strategy
        #: the journal seq of the last fill that left it flat
        self._first_fill: dict[str, tuple[int, OrderFilled]] = {}
        self._flat_seq: dict[str, int] = {}
        # the kernel's rules per strategy: pre-trade gate and protections
        self._gates = {s.name: StrategyGate(risk, s.name) for s in slots}
        self._protections = {name: Protections(g.stops) for name, g in self._gates.items()}
        #: per (symbol, ATR period): the ATR the ATR rules read, kept from every bar marked
        self._atr: dict[tuple[str, int], AtrTracker] = {}
        for s in slots:
            rules = self._protections[s.name]
            if rules.needs_atr:
                key = (s.symbol, rules.atr_period)
                if key not in self._atr:
                    self._atr[key] = AtrTracker(rules.atr_period,
                                                self.instruments[s.symbol].tick_size)
        # per symbol, what its bars update (looked up once a bar instead of scanned)
        self._atr_of: dict[str, tuple[AtrTracker, ...]] = {}
        for (sym, _period), tracker in self._atr.items():
            self._atr_of[sym] = (*self._atr_of.get(sym, ()), tracker)
        #: per symbol: its strategies with a time exit / with trailing or time-exit rules
        self._timed_of: dict[str, tuple[str, ...]] = {}
        self._managed_of: dict[str, tuple[str, ...]] = {}
        for s in slots:
            rules = self._protections[s.name]
            if rules.has_time_exit:
                self._timed_of[s.symbol] = (*self._timed_of.get(s.symbol, ()), s.name)
            if rules.has_time_exit or rules.has_trailing:
                self._managed_of[s.symbol] = (*self._managed_of.get(s.symbol, ()), s.name)
        #: per symbol: the index of the last bar marked and its time (bars counted from the
        #: start of the replay, as a backtest of the same bars counts them)
        self._bar_index: dict[str, tuple[int, int]] = {}
        #: per strategy with a time exit: (entry time, entry bar) of its open trade
        self._entry_bars: dict[str, tuple[int, int]] = {}
        #: per strategy: the entry time of the trade a time exit was sent for
        self._time_exit_sent: dict[str, int] = {}
        #: exits placed during the current bar's matching: their entry's bar high may
        #: predate the fill, so they do not trail on it
        self._fresh: set[str] = set()
        #: entries whose ATR-based exits a restart owes: placed when the replay reaches the
        #: bar of their fill, with the ATR known then (entry id → lots, fill ticks, fill time)
        self._owed: dict[str, tuple[int, int, int]] = {}
        #: set by ``serialise()`` (the module docstring): the entry points run one at a time
        self._lock: asyncio.Lock | None = None
        self._lock_owner: asyncio.Task[Any] | None = None
        history = journal.events()  # read once: a stored journal decodes every entry
        self._rebuild_ledgers(history)
        self._rebuild_exits()
        # fill rate and slippage cover the whole session, not only this process
        metrics.resume(order_stats(history))

    # --- one at a time ---------------------------------------------------------------------
    def serialise(self) -> None:
        """From now on the entry points run one at a time (another task applies venue
        reports or reconciles: the module docstring). Idempotent."""
        if self._lock is None:
            self._lock = asyncio.Lock()

    @property
    def serialised(self) -> bool:
        return self._lock is not None

    def _must_wait(self) -> bool:
        """Serialised, and the current task does not hold the lock yet."""
        return self._lock is not None and self._lock_owner is not asyncio.current_task()

    async def _exclusive(self, call: Callable[[], Awaitable[_T]]) -> _T:
        """``call()`` holding the lock (the calls it makes pass: they see the owner)."""
        lock = self._lock
        assert lock is not None
        async with lock:
            self._lock_owner = asyncio.current_task()
            try:
                return await call()
            finally:
                self._lock_owner = None

    # --- recovery --------------------------------------------------------------------------
    def _rebuild_ledgers(self, history: list[JournalEntry]) -> None:
        """Positions and cash are derived from the journal's fills alone (crash recovery)."""
        for entry in history:
            event = entry.event
            if isinstance(event, OrderFilled):
                order = self.manager.get(event.order_id)
                self._book(order.strategy, order.symbol, order.side, event.quantity,
                           event.price, event.commission, event.ts_event)
                self._first_fill.setdefault(order.id, (entry.seq, event))
                if self.ledgers[order.strategy].position == 0:
                    self._flat_seq[order.strategy] = entry.seq

    async def restore_obligations(self) -> list[str]:
        """What the journal says we owe the venue but a crash kept us from doing.

        A kill between journaling a fill and acting on it leaves the fill counted (it is not
        processed again) and its consequences undone. Re-derived here, in journal order and
        before any new bar reaches the venue, so they take effect as they would have:

        * an open exit whose sibling has filled completely, or whose strategy is flat, is
          cancelled;
        * an exit whose replacement was placed (a trailing stop moved, an exit grown; the
          crash came before the old one was cancelled) is cancelled;
        * an entry filled since its strategy was last flat, while the strategy still holds
          a position, gets the stop-loss/take-profit orders it lacks (ids derive from the
          entry, so a leg placed before the crash is not placed twice).

        Returns one line per repair, for the reconciliation report.
        """
        if self._lock is not None and self._must_wait():
            return await self._exclusive(self.restore_obligations)
        repairs: list[str] = []
        for order in self.manager.open_orders():
            leg = exit_leg(order.id)
            if leg is None or not order.reduce_only or order.strategy not in self.ledgers:
                continue
            base, kind, generation = leg
            flat = self.ledgers[order.strategy].position == 0
            other = self._legs(base, "tp" if kind == "sl" else "sl")
            hit = any(o.status is OrderStatus.FILLED for o in other)
            replaced = self.manager.find(leg_id(base, kind, generation + 1)) is not None
            if not (flat or hit or replaced):
                continue
            cause = ("position closed" if flat else "one-cancels-other" if hit
                     else "exit replaced")
            if not replaced:
                self._books[order.strategy].forget(f"{base}-{kind}")
                self._live.pop(f"{base}-{kind}", None)
            try:
                await self.manager.cancel(order.id, self.venue, cause=cause, actor="execution")
            except RetryableError as exc:  # the venue is unreachable: after the next bar
                self._pending_cancels.append(order.id)
                repairs.append(f"cancel of {order.id} ({cause}) owed, venue unreachable: "
                               f"{exc}")
                continue
            repairs.append(f"cancelled {order.id} ({cause}, missed before the restart)")
        for oid, (seq, fill) in sorted(self._first_fill.items(), key=lambda kv: kv[1][0]):
            order = self.manager.get(oid)
            strategy = order.strategy
            if order.reduce_only or exit_leg(oid) is not None \
                    or seq <= self._flat_seq.get(strategy, 0) \
                    or self.ledgers[strategy].position == 0:
                continue
            inst = self.instruments[order.symbol]
            lots, ticks = inst.to_lots(fill.quantity), inst.to_ticks(fill.price)
            if order.stop_loss is None and order.take_profit is None \
                    and self._protections[strategy].needs_atr \
                    and self._atr_ticks(strategy) is None:
                if all(self._legs(oid, kind) for kind in ("sl", "tp")):
                    continue
                # the ATR comes from bars the replay has not marked yet
                self._owed[oid] = (lots, ticks, fill.ts_event)
                repairs.append(f"exits of {oid} owed (ATR rules): placed when the replay "
                               "reaches its fill")
                continue
            repairs.extend(await self._restore_legs(order, lots, ticks, fill.ts_event))
        return repairs

    async def _restore_legs(self, order: ManagedOrder, lots: int, ticks: int,
                            ts: int) -> list[str]:
        """Place the exits an entry's first fill should have created and that do not exist
        (the ``ExitBook``'s plan for that fill; a leg that exists is only re-sent if it never
        reached the venue)."""
        strategy = order.strategy
        bracket = self._bracket(order, ticks)
        plan = ExitBook(strategy).on_entry_fill(order.id, order.symbol, order.side, lots,
                                                bracket, ts=ts, fill_ticks=ticks)
        repairs: list[str] = []
        placed: list[str] = []
        for intent in plan.create:
            leg = exit_leg(intent.client_order_id)
            if leg is None:
                continue
            known = self._legs(order.id, leg[1])
            if known:
                if known[-1].status in (OrderStatus.CREATED, OrderStatus.SUBMITTED):
                    await self.manager.submit(known[-1], self.venue)
                continue
            result = await self.submit(intent)
            if result.status not in ("denied", "rejected"):
                placed.append(intent.client_order_id)
                repairs.append(f"placed {intent.client_order_id} (protective exit of a fill "
                               "journaled before the restart)")
        self._books[strategy].restore(placed, [order.id])
        return repairs

    # --- re-sends after a restart ----------------------------------------------------------
    def defer_resend(self, order_id: str) -> None:
        """Send this pre-venue order again once the replay has fed the venue every bar
        before its decision: sent earlier, it could fill on a bar it was decided on."""
        self._resend[order_id] = self.manager.get(order_id).ts_created

    async def _send_due(self, symbol: str | None, ts: int | None) -> None:
        due = [oid for oid, since in self._resend.items()
               if symbol is None or (self.manager.get(oid).symbol == symbol
                                     and ts is not None and ts >= since)]
        for oid in due:
            del self._resend[oid]
            try:
                await self.manager.submit(oid, self.venue)
            except RetryableError as exc:  # still unreachable: the next start settles it
                log.warning("resend_failed", order_id=oid, error=str(exc))

    async def flush_resends(self) -> None:
        """Send what is still deferred (decided on the last bar of the replay)."""
        if self._lock is not None and self._must_wait():
            return await self._exclusive(self.flush_resends)
        await self._send_due(None, None)

    def _book(self, strategy: str, symbol: str, side: Side, quantity: Decimal, price: Decimal,
              commission: Decimal, ts: int) -> tuple[int, int, int]:
        inst = self.instruments[symbol]
        lots = inst.to_lots(quantity)
        ticks = inst.to_ticks(price)
        units = int((commission / inst.money_unit).to_integral_value())
        sign = 1 if side is Side.BUY else -1
        ledger = self.ledgers[strategy]
        ledger.apply_fill(sign, lots, ticks, units, 0, ts, 0)
        self.account.add_fill(strategy, symbol, sign * lots)
        return lots, ticks, units

    # --- market events ---------------------------------------------------------------------
    def mark(self, event: BarEvent) -> None:
        """Remember the latest price, count the bar and update the ATR the protections read
        (every bar, also those replayed to warm strategies up)."""
        symbol = event.symbol
        inst = self.instruments.get(symbol)
        if inst is None:
            return
        bar = event.bar
        ticks = inst.to_ticks(bar.close)
        self.last_ticks[symbol] = ticks
        self.account.set_last_price(symbol, ticks)
        index, last_ts = self._bar_index.get(symbol, (-1, -1))
        if bar.ts_event <= last_ts:
            return
        index += 1
        self._bar_index[symbol] = (index, bar.ts_event)
        for tracker in self._atr_of.get(symbol, ()):
            tracker.update(bar.ts_event, bar.high, bar.low, bar.close)
        for name in self._timed_of.get(symbol, ()):
            # the bar of the fill that opened the trade: the first bar at or after its time
            trade = self.ledgers[name].open_trade
            if trade is not None and trade.entry_ts <= bar.ts_event:
                known = self._entry_bars.get(name)
                if known is None or known[0] != trade.entry_ts:
                    self._entry_bars[name] = (trade.entry_ts, index)

    def _atr_ticks(self, strategy: str) -> float | None:
        """The ATR (ticks) of the strategy's instrument after the last bar marked."""
        rules = self._protections[strategy]
        if not rules.needs_atr:
            return None
        return self._atr[(self.slots[strategy].symbol, rules.atr_period)].ticks

    async def on_bar(self, event: BarEvent) -> None:
        if self._lock is not None and self._must_wait():
            return await self._exclusive(lambda: self.on_bar(event))
        if self._resend:
            await self._send_due(event.symbol, event.bar.ts_event)
        self._fresh.clear()
        if self._owed:
            await self._place_owed(event)
        if self._feed_venue is not None:
            for report in await self._feed_venue(event):
                await self.on_report(report)
            if self._fresh:
                # exits attached to entries filled at the bar's open are live for the rest
                # of it (the backtest's rule): the bar again matches them, and only them
                for report in await self._feed_venue(event):
                    await self.on_report(report)
        if event.symbol not in self.instruments:
            return
        self.mark(event)
        ts = event.bar.ts_event
        equities = self._equities
        if not equities:
            for name, slot in self.slots.items():
                equities[name] = self._risk_units(
                    slot.symbol, self.ledgers[name].equity(self.last_ticks.get(slot.symbol, 0)))
        # a strategy's equity moves only with its own instrument's bars (its fills happen on
        # them too): it is marked, and its risk scope fed, on those bars — as a backtest
        # feeds its gate; the portfolio's total is fed on every bar
        for name in self._names_by_symbol.get(event.symbol, ()):
            slot, ledger = self.slots[name], self.ledgers[name]
            mark = self.last_ticks.get(slot.symbol, 0)
            equity = equities[name] = self._risk_units(slot.symbol, ledger.equity(mark))
            self._handle(self.risk.on_equity(ts, name, equity))
            trade = ledger.open_trade
            upnl = trade.pnl(mark) if trade is not None else 0
            self.metrics.strategy(name).unrealized_pnl.set(upnl * self._unit_float[slot.symbol])
        total = sum(equities.values())
        self.account.equity = total
        self._handle(self.risk.on_equity(ts, None, total))
        if self._pending_cancels or self._pending_flatten:
            await self.flush_cancels()
        if event.symbol in self._managed_of:
            await self._manage_positions(event)

    def _risk_units(self, symbol: str, units: int) -> int:
        """An amount in ``symbol``'s money units (its ledger's) in the risk engine's."""
        return units * self.risk.value_factor(symbol)

    def apply_state_changes(self, changes: list[TradingStateChange]) -> None:
        """Act on trading-state changes made outside the bar flow (an operator's halt):
        recorded now, their cancels and flatten sent with the next bar, as a halt's are."""
        self._handle(changes)

    def _handle(self, changes: list[TradingStateChange]) -> None:
        for change in changes:
            data = change.to_dict()
            self._sink("risk_state", data)
            log.warning("trading_state", **data)
            actions = state_actions(change, (
                RestingOrder(o.id, o.side, self._lots(o.symbol, o.remaining_quantity),
                             o.reduce_only, exit_leg(o.id) is not None,
                             self.ledgers[o.strategy].position)
                for o in self.manager.open_orders(strategy=change.scope)
                if o.strategy in self.ledgers))
            self._pending_cancels.extend(actions.cancel)
            if actions.flatten:  # the kill switch closes positions, as in the backtester
                names = list(self.slots) if change.scope is None else [change.scope]
                self._pending_flatten.extend((name, change.ts_ns) for name in names)

    async def flush_cancels(self) -> None:
        if self._lock is not None and self._must_wait():
            return await self._exclusive(self.flush_cancels)
        pending, self._pending_cancels = self._pending_cancels, []
        for oid in pending:
            cause, actor = self._cancel_causes.pop(oid, ("risk state change", "risk"))
            try:
                await self.manager.cancel(oid, self.venue, cause=cause, actor=actor)
            except RetryableError as exc:  # the venue is unreachable: try again next bar
                log.warning("cancel_retry", order_id=oid, error=str(exc))
                self._pending_cancels.append(oid)
                self._cancel_causes[oid] = (cause, actor)
        flatten, self._pending_flatten = self._pending_flatten, []
        for name, ts in flatten:
            await self._flatten(name, ts)

    def cancel_entries(self, strategy: str, *, actor: str) -> list[str]:
        """A stopped strategy's open entry orders, cancelled with the next bar (as a halt's
        cancels are); the reduce-only orders — the protective exits of its open position,
        a close on its way — stay. Returns the ids."""
        ids = [o.id for o in self.manager.open_orders(strategy=strategy)
               if not o.reduce_only and exit_leg(o.id) is None
               and o.id not in self._pending_cancels]
        for oid in ids:
            self._cancel_causes[oid] = ("strategy stopped", actor)
        self._pending_cancels.extend(ids)
        return ids

    async def _flatten(self, strategy: str, ts: int) -> None:
        """Close ``strategy``'s position with a reduce-only market order (it fills at the next
        bar's open, as the backtester's flatten does). The id derives from the halt's time,
        so a restart that replays the halt sends it once."""
        slot = self.slots.get(strategy)
        position = self.ledgers[strategy].position if slot is not None else 0
        if slot is None or position == 0:
            return
        intent = OrderIntent(
            client_order_id=f"{strategy}-{self.manager.session_id}-x{ts // 1_000_000_000}",
            strategy=strategy, symbol=slot.symbol,
            side=Side.SELL if position > 0 else Side.BUY, lots=abs(position),
            order_type=OrderType.MARKET, reduce_only=True, ts_init=ts,
            decision_ticks=self.last_ticks.get(slot.symbol))
        result = await self.submit(intent)
        log.warning("risk_flatten", strategy=strategy, order_id=result.client_order_id,
                    status=result.status, lots=result.lots, reason=result.reason)

    def _realized_units(self, strategy: str) -> int:
        """Realised P&L of closed trades, summed incrementally (only the last trade of a
        ledger can still be open)."""
        trades = self.ledgers[strategy].trades
        total, counted = self._realized.get(strategy, (0, 0))
        while counted < len(trades) and not trades[counted].is_open:
            total += trades[counted].pnl()
            counted += 1
        self._realized[strategy] = (total, counted)
        return total

    async def on_report(self, report: VenueReport) -> bool:
        """Apply one venue report; ``True`` when it changed the order (journaled)."""
        if self._lock is not None and self._must_wait():
            return await self._exclusive(lambda: self.on_report(report))
        if isinstance(report, FillReport):
            faults.crash_point("before_fill_journal")
        try:
            changed = self.manager.on_report(report, venue=self.venue_name)
        except UnknownOrder:
            self._sink("unknown_report", {"client_order_id": report.client_order_id})
            return False
        except TradingStrategyError as exc:
            # e.g. a fill after we saw the order end: recorded for the reconciler and the
            # operator, never fatal to the other strategies
            self._sink("report_conflict", {"client_order_id": report.client_order_id,
                                           "error": str(exc)})
            log.error("report_conflict", client_order_id=report.client_order_id,
                      error=str(exc))
            return False
        if not changed:
            return False
        order = self.manager.get(report.client_order_id)
        if isinstance(report, FillReport):
            lots, ticks, units = self._book(order.strategy, order.symbol, report.side,
                                            report.quantity, report.price, report.commission,
                                            report.ts_event)
            sm = self.metrics.strategy(order.strategy)
            sm.record_fill(order_type=order.order_type, side=report.side,
                           quantity=report.quantity, fill_price=report.price,
                           reference_price=order_reference(order),
                           order_filled=order.status is OrderStatus.FILLED)
            realized = self._realized_units(order.strategy)
            sm.realized_pnl.set(float(self.instruments[order.symbol].money(realized)))
            await self._publish(f"strategy.{order.strategy}", FillMessage(
                order.id, report.side, lots, ticks, units, report.ts_event))
            faults.crash_point("after_fill_journal")
            await self._protect(order, lots, ticks, report.ts_event)
        elif isinstance(report, StatusReport):
            self._exit_ended(order)
            await self._publish(f"strategy.{order.strategy}",
                                StatusMessage(order.id, report.status, report.reason))
        return True

    def _rebuild_exits(self) -> None:
        """Open exits from before a restart go back into their strategy's ``ExitBook``
        (pairing and the flat rule hold as for exits placed this run), the book's id
        standing for the newest open generation of each; entries that ever had exits are
        remembered so later fills do not create them again."""
        entries: dict[str, set[str]] = {}
        open_ids: dict[str, list[str]] = {}
        for order in self.manager.orders():
            leg = exit_leg(order.id)
            if leg is None or not order.reduce_only or order.strategy not in self._books:
                continue
            base, kind, _ = leg
            entries.setdefault(order.strategy, set()).add(base)
            if order.is_open:
                book_id = leg_id(base, kind)
                # orders come in creation order: the newest generation wins
                self._live[book_id] = order.id
                if book_id not in open_ids.setdefault(order.strategy, []):
                    open_ids[order.strategy].append(book_id)
        for strategy, ids in entries.items():
            self._books[strategy].restore(open_ids.get(strategy, []), ids)
        self._live = {b: live for b, live in self._live.items() if b != live}

    def _legs(self, entry_id: str, kind: str) -> list[ManagedOrder]:
        """The entry's ``kind`` ("sl"/"tp") exit orders, oldest generation first."""
        legs: list[ManagedOrder] = []
        while (leg := self.manager.find(leg_id(entry_id, kind, len(legs) + 1))) is not None:
            legs.append(leg)
        return legs

    def _exit_ended(self, order: ManagedOrder) -> None:
        """An exit ended outside the book's decisions (cancelled by the strategy, refused or
        expired at the venue): the book forgets it."""
        leg = exit_leg(order.id)
        if leg is None or order.is_open or order.strategy not in self._books:
            return
        book_id = leg_id(leg[0], leg[1])
        if self._live_id(book_id) == order.id and order.status is not OrderStatus.FILLED:
            self._books[order.strategy].forget(book_id)
            self._live.pop(book_id, None)

    def _live_id(self, book_id: str) -> str:
        """The order at the venue that stands for an ``ExitBook`` exit id now."""
        return self._live.get(book_id, book_id)

    async def _cancel_exit(self, book_id: str, cause: str) -> None:
        await self._cancel_open(self._live.pop(book_id, book_id), cause)

    async def _cancel_open(self, live: str, cause: str) -> None:
        known = self.manager.find(live)
        if known is None or not known.is_open:
            return
        try:
            await self.manager.cancel(live, self.venue, cause=cause, actor="execution")
        except RetryableError as exc:  # the venue is unreachable: after the next bar
            log.warning("cancel_retry", order_id=live, error=str(exc))
            self._pending_cancels.append(live)

    def _lots(self, symbol: str, quantity: Decimal) -> int:
        return self.instruments[symbol].to_lots(quantity)

    # --- protective exits ------------------------------------------------------------------
    def _bracket(self, order: ManagedOrder, ticks: int) -> Bracket | None:
        """The exits of an entry filled at ``ticks`` (``Protections.bracket``): its own
        bracket, else the risk settings' stops with the ATR known now (a fill arrives while
        the venue matches a bar: the previous bar's ATR, as in the backtest)."""
        own = None
        if order.stop_loss is not None or order.take_profit is not None:
            # journaled with the order: survives a restart between submit and fill
            inst = self.instruments[order.symbol]
            own = Bracket(
                None if order.stop_loss is None else inst.to_ticks(order.stop_loss),
                None if order.take_profit is None else inst.to_ticks(order.take_profit))
        return self._protections[order.strategy].bracket(order.side, ticks,
                                                         self._atr_ticks(order.strategy), own)

    async def _protect(self, order: ManagedOrder, lots: int, ticks: int, ts: int) -> None:
        """What a fill of ``order`` asks of its strategy's exits (``kernel.exits.ExitBook``),
        carried out at the venue with reduce-only orders.

        An exit filled completely: its sibling is cancelled (one-cancels-other). The strategy
        is flat, or its trade reversed: every open exit is cancelled. An entry's first fill
        that opened a position creates its exits (``<entry>-sl``/``-tp``, prices from
        ``_bracket``); a later fill grows them (a new, larger order replaces each: the venue
        has no amend). Ids derive from the entry's, so re-placing after a crash is idempotent.
        """
        strategy = order.strategy
        book = self._books[strategy]
        position = self.ledgers[strategy].position
        sign = 1 if order.side is Side.BUY else -1
        before = position - sign * lots
        leg = exit_leg(order.id)
        if leg is not None and order.reduce_only:
            book_id = leg_id(leg[0], leg[1])
            if self._live_id(book_id) == order.id:
                complete = order.status is OrderStatus.FILLED
                if complete:
                    self._live.pop(book_id, None)
                for sibling in book.on_exit_fill(book_id, complete=complete):
                    await self._cancel_exit(sibling, "one-cancels-other")
        reversed_ = before != 0 and position != 0 and (before > 0) != (position > 0)
        if position == 0 or reversed_:
            exits = {self._live.pop(book_id, book_id) for book_id in book.on_flat()}
            resting = [(o.id, o.reduce_only, o.status is OrderStatus.PARTIALLY_FILLED)
                       for o in self.manager.open_orders(strategy=strategy)]
            for oid in trade_end_cancels(position == 0, exits, resting):
                await self._cancel_open(oid, "position closed")
        if position == 0 or order.reduce_only:
            return
        opened = abs(position) if reversed_ else max(0, abs(position) - abs(before))
        plan = book.on_entry_fill(order.id, order.symbol, order.side, opened,
                                  self._bracket(order, ticks), ts=ts, fill_ticks=ticks)
        for intent in plan.create:
            result = await self.submit(intent)
            if result.status in ("denied", "rejected"):
                book.forget(intent.client_order_id)
            else:
                self._fresh.add(result.client_order_id)
        for book_id, more in plan.grow:
            current = self.manager.find(self._live_id(book_id))
            if current is not None and current.is_open:
                lots_now = self._lots(current.symbol, current.remaining_quantity) + more
                await self._replace_exit(book_id, current, lots=lots_now, ts=ts,
                                         cause="exit grown with its entry")

    async def _replace_exit(self, book_id: str, current: ManagedOrder, *, ts: int, cause: str,
                            lots: int | None = None, stop_ticks: int | None = None) -> bool:
        """Change an open exit at a venue without amend: the next generation of it is placed
        first, then the old one cancelled — a crash in between leaves two exits, never none
        (``restore_obligations`` cancels the older)."""
        leg = exit_leg(current.id)
        if leg is None:
            return False
        inst = self.instruments[current.symbol]
        base, kind, generation = leg
        limit = None if current.limit_price is None else inst.to_ticks(current.limit_price)
        stop = None if current.stop_price is None else inst.to_ticks(current.stop_price)
        new_id = leg_id(base, kind, generation + 1)
        result = await self.submit(OrderIntent(
            client_order_id=new_id, strategy=current.strategy,
            symbol=current.symbol, side=current.side,
            lots=lots if lots is not None else self._lots(current.symbol,
                                                          current.remaining_quantity),
            order_type=current.order_type, limit_ticks=limit,
            stop_ticks=stop_ticks if stop_ticks is not None else stop, tif=current.tif,
            reduce_only=True, ts_init=ts, decision_ticks=self.last_ticks.get(current.symbol),
            parent_id=base))
        if result.status in ("denied", "rejected"):
            log.warning("exit_not_replaced", order_id=current.id, cause=cause,
                        reason=result.reason)
            return False
        self._live[book_id] = result.client_order_id
        try:
            await self.manager.cancel(current.id, self.venue, cause=cause, actor="execution")
        except RetryableError as exc:  # the venue is unreachable: after the next bar
            log.warning("cancel_retry", order_id=current.id, error=str(exc))
            self._pending_cancels.append(current.id)
        return True

    async def _place_owed(self, event: BarEvent) -> None:
        """Exits a restart owes (see ``restore_obligations``), placed before the venue sees
        the bar of their fill: every earlier bar is marked, so the ATR is the one the fill
        saw, as in the backtest."""
        due = [oid for oid, (_, _, ts) in self._owed.items()
               if self.manager.get(oid).symbol == event.symbol and ts <= event.bar.ts_event]
        for oid in due:
            lots, ticks, ts = self._owed.pop(oid)
            order = self.manager.get(oid)
            if self.ledgers[order.strategy].position != 0:
                for line in await self._restore_legs(order, lots, ticks, ts):
                    log.info("restored_exit", line=line)

    # --- protections after each bar -------------------------------------------------------
    async def _manage_positions(self, event: BarEvent) -> None:
        """After a bar's fills and risk actions: move trailing stops and send due time exits
        of the strategies trading its symbol (the backtest gate's per-bar work)."""
        for name in self._managed_of.get(event.symbol, ()):
            if self.ledgers[name].position == 0:
                continue
            rules = self._protections[name]
            if rules.has_trailing:
                await self._trail(name, event)
            if rules.has_time_exit:
                await self._time_exit(name, event)

    async def _trail(self, strategy: str, event: BarEvent) -> None:
        """Each open stop exit moves with the bar's high (low for shorts), as a new order
        (``-sl2``, ``-sl3``, ... journaled like any: ``_replace_exit``)."""
        inst = self.instruments[event.symbol]
        tick = float(inst.tick_size)
        # ticks as the backtest's columns and the paper venue round them (half-even floats)
        high, low = round(event.bar.high / tick), round(event.bar.low / tick)
        atr = self._atr_ticks(strategy)
        rules = self._protections[strategy]
        for book_id in self._books[strategy].open_exits:
            if not book_id.endswith("-sl"):
                continue
            order = self.manager.find(self._live_id(book_id))
            if order is None or order.id in self._fresh or order.stop_price is None \
                    or order.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
                continue
            entry_side = Side.BUY if order.side is Side.SELL else Side.SELL
            moved = rules.trail(entry_side, inst.to_ticks(order.stop_price), high, low, atr)
            if moved is not None:
                await self._replace_exit(book_id, order, stop_ticks=moved,
                                         ts=event.bar.ts_event, cause="trailing stop moved")

    async def _time_exit(self, strategy: str, event: BarEvent) -> None:
        """Close a position held too long with a reduce-only market order; its id derives
        from the trade's entry time, so a restart that re-derives it sends it once."""
        ledger = self.ledgers[strategy]
        trade = ledger.open_trade
        entry = self._entry_bars.get(strategy)
        if trade is None or entry is None or entry[0] != trade.entry_ts \
                or self._time_exit_sent.get(strategy) == trade.entry_ts:
            return
        bar, ts = self._bar_index[event.symbol]
        if not self._protections[strategy].time_exit_due(
                entry_bar=entry[1], bar=bar, entry_ts_ns=trade.entry_ts, ts_ns=ts):
            return
        if projected_position(ledger.position, self._working(strategy, event.symbol)) == 0:
            return  # orders already working close the position: no exit to send (yet)
        self._time_exit_sent[strategy] = trade.entry_ts
        position = ledger.position
        result = await self.submit(OrderIntent(
            client_order_id=f"{strategy}-{self.manager.session_id}"
                            f"-t{trade.entry_ts // 1_000_000_000}",
            strategy=strategy, symbol=event.symbol,
            side=Side.SELL if position > 0 else Side.BUY, lots=abs(position),
            order_type=OrderType.MARKET, reduce_only=True, ts_init=ts,
            decision_ticks=self.last_ticks.get(event.symbol)))
        log.info("time_exit", strategy=strategy, order_id=result.client_order_id,
                 status=result.status, lots=result.lots, reason=result.reason)

    # --- requests from strategy runners ----------------------------------------------------
    async def submit(self, intent: OrderIntent) -> SubmitResult:
        if self._lock is not None and self._must_wait():
            return await self._exclusive(lambda: self.submit(intent))
        t0 = time.perf_counter_ns()
        strategy = intent.strategy
        sm = self.metrics.strategy(strategy)
        known = self.manager.find(intent.client_order_id)
        if known is not None:  # the same decision again (after a restart): never re-checked
            order = await self.manager.submit(known, self.venue)
            return SubmitResult(order.id, order.status.value, order.reason, 0)
        if strategy in self.operator_halts:
            sm.reject("operator_halt")
            return SubmitResult(intent.client_order_id, "denied",
                                "halted: reconciliation found a position mismatch; "
                                "an operator must act", 0)
        ledger = self.ledgers[strategy]
        symbol = intent.symbol
        price = intent.decision_ticks or self.last_ticks.get(symbol)
        gate = self._gates[strategy]
        view = GateView(
            strategy=strategy, symbol=symbol, position=ledger.position,
            # an attached exit protects the booked position whatever else is working (a
            # strategy's close on its way): the backtest places and moves exits unprojected
            working=() if intent.parent_id is not None else self._working(strategy, symbol),
            equity_units=self._risk_units(symbol, ledger.equity(price or 0)),
            price_ticks=price, atr_ticks=self._atr_ticks(strategy),
            closed_returns=ledger.closed_returns(self._closed_returns.setdefault(strategy, []))
            if gate.needs_returns else (),
            # a strategy trades within its own capital (the backtester's cash rule), and
            # reduces only its own position (others may trade the symbol at the venue)
            cash_units=ledger.cash, clip_reduce_only=True)
        decision = gate.decide(intent, view, self.account,
                               self._decision_ts(symbol, intent.ts_init or self._now()),
                               session_open=True if self._daily(symbol) else None)
        verdict = decision.verdict
        if verdict is None:  # denied before the risk engine was asked
            sm.reject(decision.code)
            message = decision.message
            if decision.code == "zero_size":
                message = f"zero size: {message}"
            return SubmitResult(intent.client_order_id, "denied", message, 0)
        if intent.size_at_fill and decision.lots == intent.lots and not gate.caps_positions:
            # no risk limit sized it: the venue fills what the cash pays at the fill price,
            # as the backtest engine does (the quantity is the size at the decision price)
            intent = decision.intent._replace(quantity_is_cap=False)
        else:
            intent = decision.intent
        self._sink("risk_verdict", {"strategy": strategy, "order_id": intent.client_order_id,
                                    **verdict.to_dict()})
        if decision.lots is None:
            sm.reject(decision.code)
            return SubmitResult(intent.client_order_id, "denied", verdict.message, 0)
        try:
            order = self.manager.prepare(intent, verdict, sending_to=self.venue_name)
            sm.record_submitted(order_type=order.order_type)  # journaled SUBMITTED: sent
            order = await self.manager.submit(order, self._timed_venue)
        except RetryableError as exc:
            # the order stays SUBMITTED in the journal; reconciliation settles it
            return SubmitResult(intent.client_order_id, "submitted", str(exc), verdict.lots)
        except TradingStrategyError as exc:
            sm.reject("venue")
            return SubmitResult(intent.client_order_id, "rejected", str(exc), 0)
        # placement latency ends when the venue's acknowledgement arrives (journaling the
        # ack afterwards is bookkeeping, not placement)
        acked = self._acked.pop(order.id, None) or time.perf_counter_ns()
        sm.observe_placement_ns(acked - t0, venue=self.venue_name)
        if order.status is OrderStatus.REJECTED:
            sm.reject("venue")
        return SubmitResult(order.id, order.status.value, order.reason, verdict.lots)

    async def cancel(self, request: CancelRequest) -> SubmitResult:
        if self._lock is not None and self._must_wait():
            return await self._exclusive(lambda: self.cancel(request))
        try:
            order = await self.manager.cancel(request.client_order_id, self.venue,
                                              cause="strategy cancel",
                                              actor=f"strategy:{request.strategy}")
        except UnknownOrder:
            return SubmitResult(request.client_order_id, "unknown", "no such order", 0)
        self._exit_ended(order)
        return SubmitResult(order.id, order.status.value, order.reason, 0)

    def _decision_ts(self, symbol: str, ts: int) -> int:
        """When the risk engine judges an order decided at ``ts`` (a runner's ``ts_init`` is
        its bar's close): at the last bar of its symbol marked by then, as the backtest
        judges at the decision bar's time. The trading day of the daily-loss limit and the
        market hours are that bar's, not the next one's (a daily bar closes on the next
        UTC day)."""
        marked = self._bar_index.get(symbol)
        return marked[1] if marked is not None and marked[1] <= ts else ts

    def _working(self, strategy: str, symbol: str) -> list[WorkingOrder]:
        return [WorkingOrder(o.side, self._lots(symbol, o.remaining_quantity), o.reduce_only,
                             o.order_type)
                for o in self.manager.open_orders(strategy=strategy, symbol=symbol)]

    def _daily(self, symbol: str) -> bool:
        return self._bar_daily.get(symbol, False)

    def set_timeframes(self, daily: Mapping[str, bool]) -> None:
        """Daily bars are whole sessions: the market-hours rule applies intraday only."""
        self._bar_daily = dict(daily)

    # --- views -----------------------------------------------------------------------------
    def positions(self) -> dict[str, dict[str, Decimal]]:
        """Per strategy: symbol → signed quantity, from fills."""
        out: dict[str, dict[str, Decimal]] = {}
        for name, slot in self.slots.items():
            inst = self.instruments[slot.symbol]
            out[name] = {slot.symbol: inst.quantity(self.ledgers[name].position)}
        return out


class _AckTimer:
    """Passes a submit through to the venue and notes when its answer arrived (placement
    latency ends there, not after journaling the ack). It adds nothing to the request: what
    the venue needs (attached exit's entry, an uncapped all-in size) is on the journaled
    order, so a re-send after a restart carries it too."""

    def __init__(self, venue: Venue, acked: dict[str, int]) -> None:
        self._venue = venue
        self._acked = acked
        self.name = venue.name

    async def submit(self, request: Any) -> Any:
        ack = await self._venue.submit(request)
        self._acked[request.client_order_id] = time.perf_counter_ns()
        return ack

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)


class _Clock:
    def __init__(self, now: Callable[[], int]) -> None:
        self._now = now

    def now_ns(self) -> int:
        return self._now()
