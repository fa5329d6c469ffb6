"""The order manager: turns accepted risk intents into orders, sends them, applies events.

Rules:

* **Only ``apply`` changes an order.** It computes the next state (``state.evolve``: the
  transition table, exact fill accounting), journals the event, and only then replaces the
  order in memory. An illegal event raises before anything is written; a journal that raises
  leaves the order as it was. A fill whose ``trade_id`` the order already counted is ignored
  (``apply`` returns ``False``, nothing is journaled), so re-delivered fills are harmless.
* **Deterministic, idempotent client order ids**: ``<strategy>-<session_id>-<seq:08d>``.
  ``seq`` is per manager and continues after a restart from the highest one in the journal.
  ``prepare`` with an intent whose ``client_order_id`` is already an order returns that order
  (a retried intent never makes a second one); mint the id up front with
  ``next_client_order_id`` to get that guarantee. An id minted but never prepared (the intent
  was denied, or the process died first) reached neither venue nor journal and may be minted
  again after a restart; give each process start its own ``session_id`` if even that matters.
* **Crash recovery is construction**: a manager replays its journal when it is built, checking
  each recorded transition, so there is no second source of truth to forget to load.
* **Re-sends reuse the client id**: ``submit`` journals SUBMITTED once, then sends the same
  request up to ``max_submit_attempts`` times while the venue answers with a retryable error
  (``OrderOutcomeUnknown``, ``VenueUnavailable``); the venue contract makes a repeated
  ``client_order_id`` return the existing order. If every attempt failed it asks
  ``venue.fetch_order``: an order the venue has takes the venue's status; one it has no record
  of is journaled REJECTED (cause says so). If that lookup fails too, the order stays
  SUBMITTED and ``OrderOutcomeUnknown`` is raised for reconciliation.

Single event loop, no threads: ``apply`` is synchronous, so it is atomic between awaits; the
async methods re-read the order after every await (a fill may have arrived meanwhile).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

from trading_strategy.core.clock import Clock
from trading_strategy.core.enums import OrderStatus
from trading_strategy.core.errors import ConfigError, RetryableError, TradingStrategyError
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.orders.events import (
    OrderCancelled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderCreated,
    OrderEvent,
    OrderRejected,
    OrderSubmitted,
    from_cancel_ack,
    from_fill,
    from_status,
)
from trading_strategy.orders.journal import CorruptJournal, Journal, JournalEntry
from trading_strategy.orders.state import (
    DuplicateOrderId,
    ManagedOrder,
    UnknownOrder,
    evolve,
    is_duplicate,
)
from trading_strategy.orders.venues.base import (
    OrderAck,
    OrderOutcomeUnknown,
    StatusReport,
    Venue,
    VenueRejected,
    VenueReport,
)
from trading_strategy.risk.verdicts import Verdict, VerdictStatus

__all__ = ["OrderManager", "make_client_order_id", "replay"]

_S = OrderStatus
_NAME = re.compile(r"[A-Za-z0-9_.:]+")


def make_client_order_id(strategy: str, session_id: str, seq: int) -> str:
    """``<strategy>-<session_id>-<seq:08d>``, e.g. ``sma_crossover-s1-00000042``."""
    return f"{strategy}-{session_id}-{seq:08d}"


def replay(entries: Iterable[JournalEntry]) -> dict[str, ManagedOrder]:
    """Every order rebuilt from journal entries alone (pure; in creation order).

    Each entry is re-applied with ``evolve`` and its recorded ``from → to`` checked against
    the result; a mismatch or an event ``evolve`` refuses raises ``CorruptJournal``.
    """
    orders: dict[str, ManagedOrder] = {}
    for entry in entries:
        event, before = entry.event, orders.get(entry.event.order_id)
        try:
            after = evolve(before, event)
        except (TradingStrategyError, ValueError, ArithmeticError) as exc:
            raise CorruptJournal(f"journal seq {entry.seq}: cannot replay {event.kind} "
                                 f"for {event.order_id}: {exc}") from exc
        recorded = (entry.from_status, entry.to_status)
        replayed = (None if before is None else before.status, after.status)
        if recorded != replayed:
            raise CorruptJournal(f"journal seq {entry.seq}: recorded {recorded}, replay gives "
                                 f"{replayed} for {event.order_id}")
        orders[event.order_id] = after
    return orders


class OrderManager:
    """Owns every order of one trading session (see the module docstring for the rules).

    ``instruments`` give each symbol's precision (intents are in ticks and lots; orders in
    exact ``Decimal``). ``actor`` names the manager in the events it makes on its own.
    """

    def __init__(
        self,
        journal: Journal,
        *,
        session_id: str,
        clock: Clock,
        instruments: Mapping[str, Instrument],
        max_submit_attempts: int = 3,
        retry_delay: float = 0.0,
        actor: str = "order-manager",
    ) -> None:
        if not _NAME.fullmatch(session_id):
            raise ConfigError(f"session_id {session_id!r}: use letters, digits, '_', '.', ':'")
        if max_submit_attempts < 1:
            raise ConfigError(f"max_submit_attempts must be >= 1, got {max_submit_attempts}")
        self._journal = journal
        self._clock = clock
        self._instruments = dict(instruments)
        self.session_id = session_id
        self.max_submit_attempts = max_submit_attempts
        self.retry_delay = retry_delay
        self.actor = actor
        self._orders = replay(journal.events())
        # the open ones, kept apart: looked up on every placement, so never a full scan
        self._open = {oid: o for oid, o in self._orders.items() if o.is_open}
        seqs = [o.id_seq for o in self._orders.values() if o.id_seq is not None]
        self._next_seq = max(seqs, default=0) + 1

    # --- ids and queries ----------------------------------------------------------------------
    def next_client_order_id(self, strategy: str) -> str:
        """Mint the next client order id for ``strategy`` (never one already journaled)."""
        if not _NAME.fullmatch(strategy):
            raise ValueError(f"strategy name {strategy!r} cannot go into a client order id")
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        return make_client_order_id(strategy, self.session_id, seq)

    def find(self, order_id: str) -> ManagedOrder | None:
        """The order with this id, or ``None``."""
        return self._orders.get(order_id)

    def get(self, order_id: str) -> ManagedOrder:
        """The current snapshot of one order; ``UnknownOrder`` if there is none."""
        order = self._orders.get(order_id)
        if order is None:
            raise UnknownOrder(f"no order {order_id}")
        return order

    def orders(self) -> list[ManagedOrder]:
        """Every order, in creation order."""
        return list(self._orders.values())

    def open_orders(
        self, *, strategy: str | None = None, symbol: str | None = None
    ) -> list[ManagedOrder]:
        """Orders not yet in a terminal status, optionally of one strategy and/or symbol."""
        return [
            o for o in self._open.values()
            if (strategy is None or o.strategy == strategy)
            and (symbol is None or o.symbol == symbol)
        ]

    # --- the one way an order changes --------------------------------------------------------
    def apply(self, event: OrderEvent) -> bool:
        """Journal ``event`` and apply it; ``False`` for an ignored duplicate fill.

        Raises (leaving journal and order untouched) ``IllegalTransition``,
        ``UnknownOrder``, ``DuplicateOrderId``, ``OrderInvariantViolated``; and whatever the
        journal raises (leaving the order untouched).
        """
        before = self._orders.get(event.order_id)
        if before is not None and is_duplicate(before, event):
            return False
        after = evolve(before, event)
        self._journal.append(event, None if before is None else before.status, after.status)
        self._remember(after)
        return True

    def _apply_together(self, events: list[OrderEvent]) -> None:
        """Several events journaled in one atomic write (all or none), then applied."""
        staged: dict[str, ManagedOrder] = {}
        entries = []
        for event in events:
            before = staged.get(event.order_id) or self._orders.get(event.order_id)
            after = evolve(before, event)
            entries.append((event, None if before is None else before.status, after.status))
            staged[event.order_id] = after
        self._journal.append_many(entries)
        for after in staged.values():
            self._remember(after)

    def _remember(self, after: ManagedOrder) -> None:
        self._orders[after.id] = after
        if after.is_open:
            self._open[after.id] = after
        else:
            self._open.pop(after.id, None)
        if after.id_seq is not None and after.id_seq >= self._next_seq:
            self._next_seq = after.id_seq + 1

    # --- intents → orders ---------------------------------------------------------------------
    def prepare(
        self,
        intent: OrderIntent,
        verdict: Verdict,
        *,
        cause: str | None = None,
        actor: str | None = None,
        sending_to: str | None = None,
    ) -> ManagedOrder:
        """The order for a risk-accepted intent, created (journaled) on first call.

        The order id is ``intent.client_order_id``, or a freshly minted one when that is
        empty. Its quantity is ``verdict.lots`` (the risk engine may have resized it). Called
        again with an intent whose id is already an order, it returns that order unchanged
        (idempotent), or raises ``DuplicateOrderId`` if the request differs. With
        ``sending_to`` (a venue name) the order is journaled CREATED and SUBMITTED in one
        write, and ``submit`` then sends it: one journal transaction fewer per placement.
        """
        if not verdict.allowed or verdict.lots <= 0:
            raise ValueError(f"intent {intent.client_order_id!r} was not accepted by risk: "
                             f"{verdict.status.value} {verdict.message}".rstrip())
        inst = self._instruments.get(intent.symbol)
        if inst is None:
            raise ConfigError(f"no instrument configured for {intent.symbol!r}")
        order_id = intent.client_order_id or self.next_client_order_id(intent.strategy)
        now = self._clock.now_ns()
        event = OrderCreated(
            order_id=order_id,
            ts_event=intent.ts_init or now,
            ts_init=now,
            cause=cause or _risk_cause(verdict),
            actor=actor or f"strategy:{intent.strategy}",
            strategy=intent.strategy, symbol=intent.symbol, side=intent.side,
            order_type=intent.order_type, quantity=inst.quantity(verdict.lots),
            limit_price=_price(inst, intent.limit_ticks),
            stop_price=_price(inst, intent.stop_ticks),
            tif=intent.tif, reduce_only=intent.reduce_only,
            decision_price=_price(inst, intent.decision_ticks),
            id_seq=self._own_seq(order_id, intent.strategy),
            stop_loss=_price(inst, intent.bracket.stop_loss) if intent.bracket else None,
            take_profit=_price(inst, intent.bracket.take_profit) if intent.bracket else None,
            size_at_fill=intent.size_at_fill, quantity_is_cap=intent.quantity_is_cap,
            parent_id=intent.parent_id,
        )
        existing = self._orders.get(order_id)
        if existing is not None:
            if existing.request != evolve(None, event).request:
                raise DuplicateOrderId(f"client order id {order_id} already names another order")
            return existing
        if sending_to is None:
            self.apply(event)
        else:
            self._apply_together([event, OrderSubmitted(
                order_id=order_id, ts_event=now, ts_init=now,
                cause=f"sent to venue:{sending_to}", actor=self.actor)])
        return self._orders[order_id]

    # --- talking to a venue -------------------------------------------------------------------
    async def submit(self, order: ManagedOrder | str, venue: Venue) -> ManagedOrder:
        """Send the order (idempotent; see the module docstring for retries and resolution).

        A CREATED order is journaled SUBMITTED first; a SUBMITTED one (after a restart, or a
        previous call that gave up) is re-sent as is; any later status returns unchanged.
        """
        oid = order if isinstance(order, str) else order.id
        current = self.get(oid)
        if current.status is _S.CREATED:
            now = self._clock.now_ns()
            self.apply(OrderSubmitted(order_id=oid, ts_event=now, ts_init=now,
                                      cause=f"sent to venue:{venue.name}", actor=self.actor))
        elif current.status is not _S.SUBMITTED:
            return current
        request, venue_actor = self.get(oid).request, f"venue:{venue.name}"
        failures: list[str] = []
        for attempt in range(1, self.max_submit_attempts + 1):
            try:
                ack = await venue.submit(request)
            except VenueRejected as exc:
                report = StatusReport(oid, "", _S.REJECTED, exc.reason, self._clock.now_ns())
                self._apply_status(report, venue_actor)
                return self.get(oid)
            except RetryableError as exc:
                failures.append(f"attempt {attempt}: {exc}")
                if attempt < self.max_submit_attempts and self.retry_delay > 0:
                    await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))
                continue
            cause = (f"venue accepted after {attempt} attempts (same client id)"
                     if attempt > 1 else None)
            self._apply_status(ack, venue_actor, cause)
            return self.get(oid)
        return await self._resolve(oid, venue, failures)

    async def cancel(
        self, order: ManagedOrder | str, venue: Venue, *, cause: str, actor: str
    ) -> ManagedOrder:
        """Ask the venue to cancel (idempotent: call again to re-send after a timeout).

        A terminal order is returned unchanged; a CREATED one is cancelled locally (it never
        left); otherwise PENDING_CANCEL is journaled before the request is sent. A retryable
        venue error propagates with the order left PENDING_CANCEL.
        """
        oid = order if isinstance(order, str) else order.id
        current = self.get(oid)
        now = self._clock.now_ns()
        if current.is_terminal:
            return current
        if current.status is _S.CREATED:
            self.apply(OrderCancelled(order_id=oid, ts_event=now, ts_init=now,
                                      cause=f"{cause} (never sent)", actor=actor))
            return self.get(oid)
        if current.status is not _S.PENDING_CANCEL:
            self.apply(OrderCancelRequested(order_id=oid, ts_event=now, ts_init=now,
                                            cause=cause, actor=actor))
        venue_actor = f"venue:{venue.name}"
        try:
            ack = await venue.cancel(oid)
        except VenueRejected as exc:
            if self.get(oid).status is _S.PENDING_CANCEL:
                now = self._clock.now_ns()
                self.apply(OrderCancelRejected(order_id=oid, ts_event=now, ts_init=now,
                                               cause="venue refused the cancel",
                                               actor=venue_actor, reason=exc.reason))
            return self.get(oid)
        event = from_cancel_ack(self.get(oid), ack, ts_init=self._clock.now_ns(),
                                actor=venue_actor)
        if event is not None:
            self.apply(event)
        return self.get(oid)

    def on_report(self, report: VenueReport, *, venue: str) -> bool:
        """Apply one fill or status report from ``venue``; ``False`` if it changed nothing
        (a duplicate fill, a status the order already has). ``UnknownOrder`` for an order we
        never created (the reconciler's business)."""
        order, actor = self.get(report.client_order_id), f"venue:{venue}"
        if isinstance(report, StatusReport):
            return self._apply_status(report, actor)
        event = from_fill(order, report, ts_init=self._clock.now_ns(), actor=actor)
        return event is not None and self.apply(event)

    # --- internals ----------------------------------------------------------------------------
    def _apply_status(self, report: StatusReport | OrderAck, actor: str,
                      cause: str | None = None) -> bool:
        event = from_status(self.get(report.client_order_id), report,
                            ts_init=self._clock.now_ns(), actor=actor, cause=cause)
        return event is not None and self.apply(event)

    async def _resolve(self, oid: str, venue: Venue, failures: list[str]) -> ManagedOrder:
        tried = f"{len(failures)} submit attempts failed"
        try:
            state = await venue.fetch_order(oid)
        except RetryableError as exc:
            raise OrderOutcomeUnknown(oid, f"{tried}; fetch_order: {exc}") from exc
        now = self._clock.now_ns()
        if state is None:
            if self.get(oid).status is _S.SUBMITTED:
                self.apply(OrderRejected(
                    order_id=oid, ts_event=now, ts_init=now, actor=self.actor,
                    cause=f"{tried}; venue has no record of it", reason="not at venue"))
            return self.get(oid)
        report = StatusReport(oid, state.venue_order_id, state.status, "", now)
        self._apply_status(report, f"venue:{venue.name}", f"{tried}; venue reports "
                           f"{state.status.value}")
        return self.get(oid)

    def _own_seq(self, order_id: str, strategy: str) -> int | None:
        rest = order_id.removeprefix(f"{strategy}-{self.session_id}-")
        return int(rest) if rest != order_id and rest.isdigit() else None


def _price(inst: Instrument, ticks: int | None) -> Decimal | None:
    return None if ticks is None else inst.price(ticks)


def _risk_cause(verdict: Verdict) -> str:
    if verdict.status is VerdictStatus.RESIZED and verdict.reason is not None:
        return f"risk resized to {verdict.lots} lots ({verdict.reason.value})"
    return "risk accepted"
