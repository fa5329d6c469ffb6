"""The execution component: the one path from a strategy's intent to a venue, and back.

It owns the risk engine (and its account view), the order manager (and through it the
append-only journal), the venue adapter, and one ledger per strategy for P&L attribution.
Strategy runners reach it only by bus requests (``execution.submit``, ``execution.cancel``);
fills and status changes go back to them as messages on ``strategy.<name>``.

Order of work for a market event (what makes a replayed paper session match a backtest):
the venue matches resting orders against the new bar first, the fills are journaled and
applied to the ledgers and published, equity is marked and fed to the risk engine, and only
then do strategies see the bar.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import structlog

from trading_strategy.core.enums import OrderStatus, OrderType, Side
from trading_strategy.core.errors import RetryableError, TradingStrategyError
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import Bracket, OrderIntent
from trading_strategy.market_data.providers.base import BarEvent
from trading_strategy.observability.metrics import SessionMetrics
from trading_strategy.observability.order_stats import order_reference, order_stats
from trading_strategy.orders.events import OrderFilled
from trading_strategy.orders.journal import Journal, JournalEntry
from trading_strategy.orders.manager import OrderManager
from trading_strategy.orders.state import UnknownOrder
from trading_strategy.orders.venues.base import FillReport, StatusReport, Venue, VenueReport
from trading_strategy.portfolio.ledger import Ledger
from trading_strategy.risk import (
    RiskEngine,
    StopRules,
    TradingState,
    TradingStateChange,
    VerdictStatus,
    bracket_for_entry,
)
from trading_strategy.runtime import faults
from trading_strategy.runtime.live_context import CancelRequest

log = structlog.get_logger("trading_strategy.execution")

#: feeds one bar to the venue and returns the reports it caused (paper venues)
BarFeed = Callable[[BarEvent], Awaitable[list[VenueReport]]]
#: where state changes and verdicts are recorded (the session stores them)
EventSink = Callable[[str, dict[str, Any]], None]


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
        self.venue_name = venue_name
        self.instruments = dict(instruments)
        self.metrics = metrics
        self._publish = publish
        self._feed_venue = feed_venue
        self._sink = sink or (lambda kind, data: None)
        self._now = clock
        self.slots = {s.name: s for s in slots}
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
        #: strategies a halt told to flatten, with the halt's time (closed after the cancels)
        self._pending_flatten: list[tuple[str, int]] = []
        #: per strategy: returns of its closed trades, for Kelly sizing (extended as they close)
        self._closed_returns: dict[str, list[float]] = {}
        self._realized: dict[str, tuple[int, int]] = {}
        #: per strategy: open exit order id → its one-cancels-other sibling ("" if none)
        self._exits: dict[str, dict[str, str]] = {}
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
        history = journal.events()  # read once: a stored journal decodes every entry
        self._rebuild_ledgers(history)
        self._rebuild_exits()
        # fill rate and slippage cover the whole session, not only this process
        metrics.resume(order_stats(history))

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

        * an open exit whose sibling has filled, or whose strategy is flat, is cancelled;
        * an entry filled since its strategy was last flat, while the strategy still holds
          a position, gets the stop-loss/take-profit orders it lacks (ids derive from the
          entry, so a leg placed before the crash is not placed twice).

        Returns one line per repair, for the reconciliation report.
        """
        repairs: list[str] = []
        for strategy, exits in self._exits.items():
            flat = self.ledgers[strategy].position == 0
            for oid in list(exits):
                base, _, suffix = oid.rpartition("-")
                other = self.manager.find(f"{base}-{'tp' if suffix == 'sl' else 'sl'}")
                hit = other is not None and other.filled_quantity > 0
                if not (flat or hit) or not self.manager.get(oid).is_open:
                    continue
                exits.pop(oid, None)
                cause = "position closed" if flat else "one-cancels-other"
                try:
                    await self.manager.cancel(oid, self.venue, cause=cause, actor="execution")
                except RetryableError as exc:  # the venue is unreachable: after the next bar
                    self._pending_cancels.append(oid)
                    repairs.append(f"cancel of {oid} ({cause}) owed, venue unreachable: {exc}")
                    continue
                repairs.append(f"cancelled {oid} ({cause}, missed before the restart)")
        for oid, (seq, fill) in sorted(self._first_fill.items(), key=lambda kv: kv[1][0]):
            order = self.manager.get(oid)
            strategy = order.strategy
            if order.reduce_only or seq <= self._flat_seq.get(strategy, 0) \
                    or self.ledgers[strategy].position == 0:
                continue
            legs = (f"{oid}-sl", f"{oid}-tp")
            if all(self.manager.find(leg) is not None for leg in legs):
                continue
            before = {leg for leg in legs if self.manager.find(leg) is not None}
            inst = self.instruments[order.symbol]
            await self._protect(order, inst.to_lots(fill.quantity), inst.to_ticks(fill.price),
                                fill.ts_event)
            for leg in legs:
                if leg not in before and self.manager.find(leg) is not None:
                    repairs.append(f"placed {leg} (protective exit of a fill journaled "
                                   "before the restart)")
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
        """Only remember the latest price (bars replayed to warm strategies up)."""
        inst = self.instruments.get(event.symbol)
        if inst is not None:
            ticks = inst.to_ticks(event.bar.close)
            self.last_ticks[event.symbol] = ticks
            self.account.set_last_price(event.symbol, ticks)

    async def on_bar(self, event: BarEvent) -> None:
        if self._resend:
            await self._send_due(event.symbol, event.bar.ts_event)
        if self._feed_venue is not None:
            for report in await self._feed_venue(event):
                await self.on_report(report)
        if event.symbol not in self.instruments:
            return
        self.mark(event)
        total = 0
        for name, slot in self.slots.items():
            ledger = self.ledgers[name]
            equity = self._risk_units(
                slot.symbol, ledger.equity(self.last_ticks.get(slot.symbol, 0)))
            total += equity
            self._handle(self.risk.on_equity(event.bar.ts_event, name, equity))
            trade = ledger.open_trade
            mark = self.last_ticks.get(slot.symbol)
            upnl = trade.pnl(mark) if trade is not None and mark is not None else 0
            self.metrics.strategy(name).unrealized_pnl.set(
                float(self.instruments[slot.symbol].money(upnl)))
        self.account.equity = total
        self._handle(self.risk.on_equity(event.bar.ts_event, None, total))
        await self.flush_cancels()

    def _risk_units(self, symbol: str, units: int) -> int:
        """An amount in ``symbol``'s money units (its ledger's) in the risk engine's."""
        return units * self.risk.value_factor(symbol)

    def _handle(self, changes: list[TradingStateChange]) -> None:
        for change in changes:
            data = change.to_dict()
            self._sink("risk_state", data)
            log.warning("trading_state", **data)
            if change.current is TradingState.ACTIVE:
                continue
            for order in self.manager.open_orders(strategy=change.scope):
                exit_order = order.reduce_only
                if (change.cancel_entry_orders and not exit_order) or \
                        (change.cancel_exit_orders and exit_order):
                    self._pending_cancels.append(order.id)
            if change.flatten:  # the kill switch closes positions, as in the backtester
                names = list(self.slots) if change.scope is None else [change.scope]
                self._pending_flatten.extend((name, change.ts_ns) for name in names)

    async def flush_cancels(self) -> None:
        pending, self._pending_cancels = self._pending_cancels, []
        for oid in pending:
            try:
                await self.manager.cancel(oid, self.venue, cause="risk state change",
                                          actor="risk")
            except RetryableError as exc:  # the venue is unreachable: try again next bar
                log.warning("cancel_retry", order_id=oid, error=str(exc))
                self._pending_cancels.append(oid)
        flatten, self._pending_flatten = self._pending_flatten, []
        for name, ts in flatten:
            await self._flatten(name, ts)

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
            await self._publish(f"strategy.{order.strategy}",
                                StatusMessage(order.id, report.status, report.reason))
        return True

    def _rebuild_exits(self) -> None:
        """Open ``-sl``/``-tp`` orders from before a restart keep their one-cancels-other
        pairing and are cancelled with the position, like the ones placed this run."""
        for order in self.manager.open_orders():
            base, _, suffix = order.id.rpartition("-")
            if suffix not in ("sl", "tp") or not order.reduce_only:
                continue
            sibling = f"{base}-{'tp' if suffix == 'sl' else 'sl'}"
            known = self.manager.find(sibling)
            self._exits.setdefault(order.strategy, {})[order.id] = (
                sibling if known is not None and known.is_open else "")

    # --- protective exits ------------------------------------------------------------------
    async def _protect(self, order: Any, lots: int, ticks: int, ts: int) -> None:
        """Exits of an entry, placed at the venue as reduce-only orders once it fills.

        The strategy's own bracket (``stop_loss``/``take_profit``) or, failing that, the
        risk settings' percentage stops, computed from the fill price. The stop and the
        target cancel each other; both go when the strategy is flat again. Ids derive from
        the entry's (``<entry>-sl``/``-tp``), so re-placing after a crash is idempotent.
        """
        strategy = order.strategy
        ledger = self.ledgers[strategy]
        exits = self._exits.setdefault(strategy, {})
        if order.id in exits:  # an exit filled: its sibling is cancelled, or both if flat
            sibling = exits.pop(order.id)
            if sibling:
                exits.pop(sibling, None)
                await self.manager.cancel(sibling, self.venue, cause="one-cancels-other",
                                          actor="execution")
        if ledger.position == 0:
            for oid in list(exits):
                exits.pop(oid, None)
                if self.manager.get(oid).is_open:
                    await self.manager.cancel(oid, self.venue, cause="position closed",
                                              actor="execution")
            return
        if order.reduce_only:
            return
        inst = self.instruments[order.symbol]
        bracket = None
        if order.stop_loss is not None or order.take_profit is not None:
            # journaled with the order: survives a restart between submit and fill
            bracket = Bracket(
                None if order.stop_loss is None else inst.to_ticks(order.stop_loss),
                None if order.take_profit is None else inst.to_ticks(order.take_profit))
        if bracket is None:
            rules = self.risk.stop_rules(strategy)
            if rules.stop_loss_pct is None and rules.take_profit_pct is None:
                return
            bracket = bracket_for_entry(
                StopRules(stop_loss_pct=rules.stop_loss_pct,
                          take_profit_pct=rules.take_profit_pct), order.side, ticks)
            if bracket is None:
                return
        exit_side = Side.SELL if order.side is Side.BUY else Side.BUY
        placed: list[str] = []
        for suffix, kind, price in (("sl", OrderType.STOP, bracket.stop_loss),
                                    ("tp", OrderType.LIMIT, bracket.take_profit)):
            if price is None:
                continue
            intent = OrderIntent(
                client_order_id=f"{order.id}-{suffix}", strategy=strategy,
                symbol=order.symbol, side=exit_side, lots=lots, order_type=kind,
                limit_ticks=price if kind is OrderType.LIMIT else None,
                stop_ticks=price if kind is OrderType.STOP else None,
                reduce_only=True, ts_init=ts, decision_ticks=ticks)
            result = await self.submit(intent)
            if result.status not in ("denied", "rejected"):
                placed.append(result.client_order_id)
        if len(placed) == 2:
            exits[placed[0]], exits[placed[1]] = placed[1], placed[0]
        elif placed:
            exits[placed[0]] = ""

    # --- requests from strategy runners ----------------------------------------------------
    async def submit(self, intent: OrderIntent) -> SubmitResult:
        t0 = time.perf_counter_ns()
        strategy = intent.strategy
        sm = self.metrics.strategy(strategy)
        account = self.account
        known = self.manager.find(intent.client_order_id)
        if known is not None:  # the same decision again (after a restart): never re-checked
            order = await self.manager.submit(known, self.venue)
            return SubmitResult(order.id, order.status.value, order.reason, 0)
        ledger = self.ledgers[strategy]
        sign = 1 if intent.side is Side.BUY else -1
        if not intent.reduce_only and self.risk.sizing_rules(strategy).method != "strategy":
            sized = self._size(intent)
            if isinstance(sized, SubmitResult):
                sm.reject("zero_size")
                return sized
            intent = sized
        if intent.reduce_only:
            # reduce-only is this strategy's business: other strategies may trade the symbol
            lots = min(intent.lots, abs(ledger.position)) if ledger.position * sign < 0 else 0
            if lots <= 0:
                return SubmitResult(intent.client_order_id, "denied",
                                    "reduce-only: the strategy has nothing to reduce", 0)
            intent = intent._replace(lots=lots)
        elif sign > 0 and ledger.position >= 0 and intent.decision_ticks:
            # a strategy trades within its own capital (the backtester's cash rule)
            cost = intent.lots * intent.decision_ticks
            if cost > ledger.cash:
                sm.reject("insufficient_cash")
                return SubmitResult(intent.client_order_id, "denied",
                                    "insufficient cash in the strategy's allocation", 0)
        if strategy in self.operator_halts:
            sm.reject("operator_halt")
            return SubmitResult(intent.client_order_id, "denied",
                                "halted: reconciliation found a position mismatch; "
                                "an operator must act", 0)
        account.set_open_orders(strategy, len(self.manager.open_orders(strategy=strategy)))
        # judged against the position once working orders fill (a close then a sell is an
        # entry, as in the backtester's gate); restored to the booked position afterwards
        account.set_position(strategy, intent.symbol, self._projected(strategy, intent.symbol))
        try:
            verdict = self.risk.check(intent, account, intent.ts_init or self._now(),
                                      session_open=True if self._daily(intent.symbol)
                                      else None)
        finally:
            account.set_position(strategy, intent.symbol, ledger.position)
        self._sink("risk_verdict", {"strategy": strategy, "order_id": intent.client_order_id,
                                    **verdict.to_dict()})
        if verdict.status is VerdictStatus.REJECTED:
            reason = verdict.reason.value if verdict.reason is not None else "rejected"
            sm.reject(reason)
            return SubmitResult(intent.client_order_id, "denied", verdict.message, 0)
        try:
            order = self.manager.prepare(intent, verdict, sending_to=self.venue_name)
            sm.record_submitted(order_type=order.order_type)  # journaled SUBMITTED: sent
            order = await self.manager.submit(order, _AckTimer(self.venue, self._acked))
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

    def _size(self, intent: OrderIntent) -> OrderIntent | SubmitResult:
        """An entry sized by the strategy's ``sizing_method`` (the backtester's rule: the
        strategy's equity marked at the decision price; Kelly learns from its closed trades).
        Orders that reduce the projected position keep their size."""
        strategy, symbol = intent.strategy, intent.symbol
        position = self._projected(strategy, symbol)
        if position != 0 and (position > 0) != (intent.side is Side.BUY):
            return intent
        price = intent.decision_ticks or self.last_ticks.get(symbol)
        if not price:
            return SubmitResult(intent.client_order_id, "denied",
                                "no price to size the entry at yet", 0)
        ledger = self.ledgers[strategy]
        returns = ledger.closed_returns(self._closed_returns.setdefault(strategy, []))
        sized = self.risk.size_entry(intent, self._risk_units(symbol, ledger.equity(price)),
                                     price, trade_returns=returns)
        if sized.lots <= 0:
            return SubmitResult(intent.client_order_id, "denied", f"zero size: {sized.note}", 0)
        return intent._replace(lots=sized.lots)

    async def cancel(self, request: CancelRequest) -> SubmitResult:
        try:
            order = await self.manager.cancel(request.client_order_id, self.venue,
                                              cause="strategy cancel",
                                              actor=f"strategy:{request.strategy}")
        except UnknownOrder:
            return SubmitResult(request.client_order_id, "unknown", "no such order", 0)
        return SubmitResult(order.id, order.status.value, order.reason, 0)

    def _projected(self, strategy: str, symbol: str) -> int:
        """Booked position plus working entries and reduce-only market orders (resting
        stop and target exits are contingent: they reduce nothing yet)."""
        lots = self.ledgers[strategy].position
        inst = self.instruments[symbol]
        for order in self.manager.open_orders(strategy=strategy, symbol=symbol):
            if order.reduce_only and order.order_type is not OrderType.MARKET:
                continue
            sign = 1 if order.side is Side.BUY else -1
            remaining = inst.to_lots(order.quantity - order.filled_quantity)
            if order.reduce_only:
                remaining = min(remaining, abs(lots)) if lots * sign < 0 else 0
            lots += sign * remaining
        return lots

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
    """Passes a submit through to the venue and notes when its answer arrived."""

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
