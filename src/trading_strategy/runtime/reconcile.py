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

Every difference and every repair is returned in the report and recorded through the
session's event sink. ``clean`` means nothing is left unexplained (no unknown orders, no
position mismatch); what was repaired on the way is listed all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from trading_strategy.core.enums import OrderStatus
from trading_strategy.orders.state import UnknownOrder
from trading_strategy.orders.venues.base import OrderState, StatusReport
from trading_strategy.runtime.execution import Execution

_PRE_VENUE = (OrderStatus.CREATED, OrderStatus.SUBMITTED)


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
    for fill in await venue.fetch_fills(0):
        try:
            order = manager.get(fill.client_order_id)
        except UnknownOrder:
            report.unknown_venue_orders.append(fill.client_order_id)
            unknown_symbols.setdefault(fill.symbol, f"a fill at the venue for order "
                                       f"{fill.client_order_id}, which we never created")
            continue
        if fill.trade_id not in order.trade_ids:
            await execution.on_report(fill)
            report.missing_fills.append(f"{fill.client_order_id}/{fill.trade_id}")
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
    ours: dict[str, Decimal] = {}
    for per_strategy in execution.positions().values():
        for symbol, qty in per_strategy.items():
            ours[symbol] = ours.get(symbol, Decimal(0)) + qty
    theirs = await venue.fetch_positions()
    for symbol in sorted(set(ours) | set(theirs)):
        mine, venue_qty = ours.get(symbol, Decimal(0)), theirs.get(symbol, Decimal(0))
        if mine != venue_qty:
            report.position_mismatches.append({"symbol": symbol, "ours": str(mine),
                                               "venue": str(venue_qty)})
            for name, slot in execution.slots.items():
                if slot.symbol == symbol:
                    execution.operator_halts.add(name)
                    report.halted_strategies.append(name)
    if strict:
        await _fail_closed(execution, report, unknown_symbols, now_ns)
    return report


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
