"""Reconciliation: make our journal agree with the venue after a start or a crash.

On start the order manager has rebuilt every order from the journal and the execution
component every position from the journaled fills. Then, against the venue, in the order the
events happened before the crash:

1. orders we journaled SUBMITTED that the venue has are brought up to date: ACCEPTED (with
   the venue's order id) or REJECTED is journaled, so the audit trail has every step;
2. obligations the journal implies but a crash left undone are carried out
   (``Execution.restore_obligations``): missing stop-loss/take-profit legs of filled entries
   are placed, exits that should have gone with a closed position or a filled sibling are
   cancelled;
3. fills the venue reports that the journal lacks are applied (journaled, booked, published,
   and their exits placed);
4. orders we hold open are looked up: a terminal status at the venue is applied; an order
   we journaled as created or submitted that the venue never saw is sent again with the same
   client id (idempotent) — but only once the replay has fed the venue every bar before its
   decision (``Execution.defer_resend``), so it can never fill on a bar at or before the one
   it was decided on; an open order the venue knows nothing of is reported;
5. open orders at the venue that we never created are reported (never adopted silently);
6. positions are compared per symbol (ours: the sum over strategies); a mismatch halts every
   strategy trading that symbol until an operator acts.

With ``strict=True`` (an exchange account: ``[venue] kind = "ccxt"``, on start and after every
reconnect) what the platform cannot explain fails closed: an order or fill at the venue we
never created, an order filled past its size (``ManagedOrder.size``: the venue's size for an
all-in order, not the quantity asked), or a balance in a strategy's currency below the cash
the strategies hold in it each HALT the strategies concerned — new entries are refused,
reducing orders pass — with the reason in the HALT's message, until an operator re-arms.

Before a position mismatch is declared, fills are fetched once more: a resting order that
filled between the two requests is not a difference.

**After every reconnect** (``ReconnectReconciler``, a supervised session component): a venue
that signals reconnects (``orders.venues.link.Reconnecting``: ``CcxtVenue`` after a network
error, a timeout or maintenance) is reconciled again the moment it answers — fills made
while it was unreachable are applied (once: by trade id), open orders and positions
compared, balances checked, and with ``strict`` whatever cannot be explained halts entries as
on start. Each run is recorded as a ``reconciliation`` event with ``trigger = "reconnect"``
and the outage (since when, why). Reconnects that arrive during a run are folded into one
more run. A run that fails because the venue went away again is logged and retried on the
next reconnect (the failure itself marks the venue unreachable). A run goes on beside the
session's feed loop: an order whose submit is still on its way is settled as on start (its
ack journaled from the venue, or re-sent later with the same client id, which the venue
answers idempotently), and a fill applied by both is applied once (by trade id).

Every difference and every repair is returned in the report and recorded through the
session's event sink. ``clean`` means nothing is left unexplained (no unknown orders, no
position mismatch); what was repaired on the way is listed all the same.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import structlog

from trading_strategy.core.enums import OrderStatus
from trading_strategy.core.errors import RetryableError
from trading_strategy.orders.state import UnknownOrder
from trading_strategy.orders.venues.base import OrderState, StatusReport
from trading_strategy.orders.venues.link import Reconnecting, VenueReconnected
from trading_strategy.runtime.execution import Execution

_PRE_VENUE = (OrderStatus.CREATED, OrderStatus.SUBMITTED)
log = structlog.get_logger("trading_strategy.reconcile")


@dataclass
class ReconciliationReport:
    missing_fills: list[str] = field(default_factory=list)
    status_updates: list[str] = field(default_factory=list)
    resubmitted: list[str] = field(default_factory=list)
    unknown_venue_orders: list[str] = field(default_factory=list)
    position_mismatches: list[dict[str, Any]] = field(default_factory=list)
    halted_strategies: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    #: strict only: orders filled past their size, balances short of the strategies' cash
    overfilled: list[str] = field(default_factory=list)
    balance_mismatches: list[dict[str, str]] = field(default_factory=list)
    #: strict only: strategy → why it was halted (entries refused until re-armed)
    halt_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def repaired(self) -> int:
        """How many things reconciliation changed (applied, journaled, sent, cancelled)."""
        return (len(self.missing_fills) + len(self.status_updates) + len(self.resubmitted)
                + len(self.acknowledged) + len(self.repairs))

    @property
    def clean(self) -> bool:
        return not (self.unknown_venue_orders or self.position_mismatches or self.overfilled
                    or self.balance_mismatches)

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "missing_fills": self.missing_fills,
            "status_updates": self.status_updates,
            "resubmitted": self.resubmitted,
            "unknown_venue_orders": self.unknown_venue_orders,
            "position_mismatches": self.position_mismatches,
            "halted_strategies": self.halted_strategies,
            "acknowledged": self.acknowledged,
            "repairs": self.repairs,
            "repaired": self.repaired,
            "overfilled": self.overfilled,
            "balance_mismatches": self.balance_mismatches,
            "halt_reasons": self.halt_reasons,
        }

    def lines(self) -> list[str]:
        head = "clean" if self.clean else "DIFFERENCES FOUND"
        if self.repaired:
            head += f" ({self.repaired} repaired)"
        out = [f"reconciliation: {head}"]
        for update in self.acknowledged:
            out.append(f"  journaled from venue: {update}")
        for repair in self.repairs:
            out.append(f"  {repair}")
        for fill in self.missing_fills:
            out.append(f"  applied missed fill {fill}")
        for update in self.status_updates:
            out.append(f"  status from venue: {update}")
        for oid in self.resubmitted:
            out.append(f"  re-sent (same client id, after the replay passes its decision "
                       f"bar): {oid}")
        for oid in self.unknown_venue_orders:
            out.append(f"  venue order unknown to us: {oid}")
        for m in self.position_mismatches:
            out.append(f"  position mismatch {m['symbol']}: ours {m['ours']}, "
                       f"venue {m['venue']}")
        for oid in self.overfilled:
            out.append(f"  filled past its size: {oid}")
        for b in self.balance_mismatches:
            out.append(f"  balance {b['currency']}: venue {b['venue']}, strategies hold "
                       f"{b['ours']}")
        for name in self.halted_strategies:
            out.append(f"  HALTED until an operator acts: {name}")
        for name, reason in self.halt_reasons.items():
            out.append(f"  entries refused for {name} until re-armed: {reason}")
        return out


async def reconcile(execution: Execution, *, now_ns: int,
                    strict: bool = False) -> ReconciliationReport:
    """Bring the journal up to date with the venue (the module docstring lists the steps);
    ``strict``: an exchange account, where anything unexplained halts entries."""
    report = ReconciliationReport()
    unknown_symbols: dict[str, str] = {}
    manager = execution.manager
    venue = execution.venue
    seen: dict[str, OrderState | None] = {}
    for order in manager.open_orders():
        if order.status is not OrderStatus.SUBMITTED:
            continue
        state = seen[order.id] = await venue.fetch_order(order.id)
        if state is None:
            continue
        # the venue's answer to our submit never reached the journal (killed in between)
        status = OrderStatus.REJECTED if state.status is OrderStatus.REJECTED \
            else OrderStatus.ACCEPTED
        # journaled as the submit's answer would have been (strategies are not told: they
        # never are of an acknowledgement)
        if manager.on_report(StatusReport(order.id, state.venue_order_id, status,
                                          "reconciled with the venue", now_ns),
                             venue=execution.venue_name):
            report.acknowledged.append(f"{order.id} → {status.value} "
                                       f"(venue id {state.venue_order_id})")
    report.repairs.extend(await execution.restore_obligations())
    await _apply_missing_fills(execution, report, unknown_symbols)
    for order in manager.open_orders():
        # a submitted order the venue did not have a moment ago still is not there
        known_absent = order.id in seen and seen[order.id] is None
        state = None if known_absent else await venue.fetch_order(order.id)
        if state is None:
            if order.status in _PRE_VENUE:
                execution.defer_resend(order.id)
                report.resubmitted.append(order.id)
            else:
                report.unknown_venue_orders.append(f"{order.id} (ours, venue has none)")
            continue
        if state.status is not order.status and not state.status.is_open:
            await execution.on_report(StatusReport(order.id, state.venue_order_id, state.status,
                                                   "reconciled with the venue", now_ns))
            report.status_updates.append(f"{order.id} → {state.status.value}")
    known = {o.id for o in manager.orders()}
    for state in await venue.fetch_open_orders():
        if state.client_order_id not in known:
            report.unknown_venue_orders.append(state.client_order_id)
            unknown_symbols.setdefault(state.symbol, f"an open order at the venue "
                                       f"({state.client_order_id}) we never created")
    mismatches = await _position_mismatches(execution)
    if mismatches:
        # a resting order may have filled between the fills and the positions we fetched:
        # look once more before calling it a mismatch (it halts strategies)
        await _apply_missing_fills(execution, report, unknown_symbols)
        mismatches = await _position_mismatches(execution)
    for mismatch in mismatches:
        report.position_mismatches.append(mismatch)
        for name, slot in execution.slots.items():
            if slot.symbol == mismatch["symbol"]:
                execution.operator_halts.add(name)
                report.halted_strategies.append(name)
    if strict:
        await _fail_closed(execution, report, unknown_symbols, now_ns)
    return report


async def _apply_missing_fills(execution: Execution, report: ReconciliationReport,
                               unknown_symbols: dict[str, str]) -> None:
    """Fills at the venue the journal lacks are applied (once each: by trade id)."""
    manager = execution.manager
    for fill in await execution.venue.fetch_fills(0):
        try:
            order = manager.get(fill.client_order_id)
        except UnknownOrder:
            if fill.client_order_id not in report.unknown_venue_orders:
                report.unknown_venue_orders.append(fill.client_order_id)
            unknown_symbols.setdefault(fill.symbol, f"a fill at the venue for order "
                                       f"{fill.client_order_id}, which we never created")
            continue
        if fill.trade_id not in order.trade_ids:
            await execution.on_report(fill)
            report.missing_fills.append(f"{fill.client_order_id}/{fill.trade_id}")


async def _position_mismatches(execution: Execution) -> list[dict[str, str]]:
    ours: dict[str, Decimal] = {}
    for per_strategy in execution.positions().values():
        for symbol, qty in per_strategy.items():
            ours[symbol] = ours.get(symbol, Decimal(0)) + qty
    theirs = await execution.venue.fetch_positions()
    out = []
    for symbol in sorted(set(ours) | set(theirs)):
        mine, venue_qty = ours.get(symbol, Decimal(0)), theirs.get(symbol, Decimal(0))
        if mine != venue_qty:
            out.append({"symbol": symbol, "ours": str(mine), "venue": str(venue_qty)})
    return out


async def _fail_closed(execution: Execution, report: ReconciliationReport,
                       unknown_symbols: dict[str, str], now_ns: int) -> None:
    """HALT (entries refused, reductions pass) every strategy a difference touches."""
    reasons: dict[str, str] = {}
    by_symbol: dict[str, list[str]] = {}
    for name, slot in execution.slots.items():
        by_symbol.setdefault(slot.symbol, []).append(name)
    for symbol, why in unknown_symbols.items():
        for name in by_symbol.get(symbol, ()):
            reasons.setdefault(name, f"reconciliation found {why}")
    for order in execution.manager.orders():
        # the sized quantity: an all-in order's size is the venue's, set at its first fill
        if order.filled_quantity > order.size:
            report.overfilled.append(f"{order.id} ({order.filled_quantity} of {order.size})")
            reasons.setdefault(order.strategy, f"reconciliation found order {order.id} "
                               f"filled {order.filled_quantity}, more than its size "
                               f"{order.size}")
    held: dict[str, Decimal] = {}
    for name, slot in execution.slots.items():
        inst = execution.instruments[slot.symbol]
        cash = inst.money(execution.ledgers[name].cash)
        held[inst.currency] = held.get(inst.currency, Decimal(0)) + max(cash, Decimal(0))
    balances = await execution.venue.fetch_balances()
    for currency, ours in sorted(held.items()):
        theirs = balances.get(currency, Decimal(0))
        if theirs < ours:
            report.balance_mismatches.append({"currency": currency, "ours": str(ours),
                                              "venue": str(theirs)})
            for name, slot in execution.slots.items():
                if execution.instruments[slot.symbol].currency == currency:
                    reasons.setdefault(name, f"reconciliation found {theirs} {currency} at "
                                       f"the venue, less than the {ours} {currency} the strategies "
                                       "trade with")
    for name, why in reasons.items():
        execution.risk.restore_halt(name, ts_ns=now_ns, message=f"{name}: {why}; re-arm "
                                    "after checking the account")
        report.halt_reasons[name] = why


def signals_reconnects(venue: object) -> bool:
    """Whether ``venue`` tells of its reconnects (worth a ``ReconnectReconciler``)."""
    return isinstance(venue, Reconnecting)


class ReconnectReconciler:
    """Reconciles again after every reconnect of the venue (the module docstring): a
    supervised component (``name``, ``run``). ``record(kind, data)``: the session's event
    sink; ``reports``: every run's report, for the caller and tests."""

    name = "reconcile-after-reconnect"

    def __init__(self, execution: Execution, *, strict: bool,
                 record: Callable[[str, dict[str, Any]], None] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.execution = execution
        self.strict = strict
        self._record = record or (lambda kind, data: None)
        self._clock_ns = clock_ns
        self.reports: list[ReconciliationReport] = []
        #: runs that could not finish (the venue went away again)
        self.failed = 0
        self._runs = asyncio.Condition()

    async def run(self) -> None:
        venue = self.execution.venue
        if not isinstance(venue, Reconnecting):
            log.info("reconcile_after_reconnect_off", reason="the venue does not signal "
                     "reconnects")
            return
        stream = venue.reconnects()
        async for signal in stream:
            stream.drain()  # reconnects queued meanwhile are covered by this one run
            await self.reconcile_now(signal)

    async def reconcile_now(self, signal: VenueReconnected) -> ReconciliationReport | None:
        """One run for ``signal`` (``None``: the venue failed again before it finished)."""
        outage = {"trigger": "reconnect", "venue": signal.venue,
                  "down_since_ns": signal.down_since_ns, "reconnected_ns": signal.ts_ns,
                  "outage_reason": signal.reason, "failed_calls": signal.failures}
        log.warning("venue_reconnected", **outage)
        try:
            report = await reconcile(self.execution, now_ns=self._clock_ns(),
                                     strict=self.strict)
        except RetryableError as exc:
            self.failed += 1
            log.warning("reconcile_after_reconnect_failed", error=str(exc),
                        retry="on the next reconnect")
            self._record("reconciliation_failed", {**outage, "error": str(exc)})
            return None
        self.reports.append(report)
        self._record("reconciliation", {**outage, **report.as_dict()})
        for line in report.lines():
            (log.info if report.clean else log.error)("reconcile", line=line)
        async with self._runs:
            self._runs.notify_all()
        return report

    async def wait_runs(self, count: int, timeout: float = 10.0) -> list[ReconciliationReport]:
        """Until ``count`` runs have finished (tests, status pages)."""
        async with asyncio.timeout(timeout), self._runs:
            await self._runs.wait_for(lambda: len(self.reports) >= count)
        return self.reports
