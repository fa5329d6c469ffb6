"""The order journal of a session, persisted in the application database.

Adapts the order manager's ``Journal`` protocol to the storage layer's ``TradingJournal``:
every event is written in one transaction with the order's new state (``orders`` row), its
journal entry (``order_events``, append-only: the database refuses updates and deletes) and,
for fills, the ``fills`` row. The entry's ``detail`` holds the event in the journal codec,
which keeps what the columns cannot (nanosecond timestamps, long causes), so a rebuild reads
exactly what was written. One database serves many sessions; a session reads back the
orders whose client id carries its session id. During a replay it may hold a venue's
acknowledgement back to go with the next write (``StoredJournal.defer_acks``), and take the
session's pending risk and lifecycle events into its transactions
(``StoredJournal.take_events_from``).

``NotifyingJournal`` wraps any journal and tells a listener of each stored transition: the
session turns them into its strategies' order callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from trading_strategy.core.enums import OrderStatus
from trading_strategy.orders.events import OrderEvent, OrderFilled
from trading_strategy.orders.journal import Journal, JournalEntry, decode, encode
from trading_strategy.orders.state import ManagedOrder, evolve
from trading_strategy.storage import FillRecord, OrderEventRecord, OrderRecord, TradingJournal


def _clip(text: str, size: int = 64) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


class StoredJournal:
    def __init__(self, journal: TradingJournal, *, session_id: str, mode: str = "paper",
                 venue: str = "paper") -> None:
        self._db = journal
        self._marker = f"-{session_id}-"
        self._mode = mode
        self._venue = venue
        self._orders: dict[str, ManagedOrder] = {}
        self._entries: list[JournalEntry] | None = None
        self._seq = 0
        #: hold a venue's acknowledgement (SUBMITTED → ACCEPTED) back to go with the next
        #: write: one transaction fewer per order. Safe because the ack is the last thing
        #: written before the next write, which takes it along, so a kill loses at most
        #: that ack, and the restart's reconciliation journals it from the venue (as after a
        #: kill between the venue's answer and its journaling). Whoever sets it calls
        #: ``flush`` before the process ends.
        self.defer_acks = False
        self._held: list[tuple[OrderEvent, OrderStatus | None, OrderStatus]] = []
        self._events: EventSource | None = None

    def take_events_from(self, source: EventSource) -> bool:
        """Write ``source``'s pending risk and lifecycle events with each transaction of
        this journal, if its repository writes to the same database (``True`` then): one
        transaction fewer per bar, and a risk verdict committed with its order."""
        shares = getattr(self._db, "shares_database", None)
        if shares is None or not shares(source.repository):
            return False
        self._events = source
        return True

    def _load(self) -> list[JournalEntry]:
        if self._entries is None:
            entries: list[JournalEntry] = []
            for row in self._db.events_of_orders(mode=self._mode, id_contains=self._marker):
                if row.detail is None or row.id is None:
                    continue
                event = decode(dict(row.detail))
                entries.append(JournalEntry(
                    row.id, event,
                    None if row.from_status is None else OrderStatus(str(row.from_status)),
                    OrderStatus(str(row.to_status))))
            entries.sort(key=lambda e: e.seq)
            for entry in entries:
                self._orders[entry.event.order_id] = evolve(
                    self._orders.get(entry.event.order_id), entry.event)
            self._entries = entries
            self._seq = entries[-1].seq if entries else 0
        return self._entries

    # --- the Journal protocol ---------------------------------------------------------------
    def append(self, event: OrderEvent, from_status: OrderStatus | None,
               to_status: OrderStatus) -> None:
        if self.defer_acks and to_status is OrderStatus.ACCEPTED and \
                from_status is OrderStatus.SUBMITTED:
            self._held.append((event, from_status, to_status))
            return
        self.append_many([(event, from_status, to_status)])

    def flush(self) -> None:
        """Write what is held back (see ``defer_acks``)."""
        if self._held:
            self.append_many([])

    def append_many(self, batch: list[tuple[OrderEvent, OrderStatus | None,
                                             OrderStatus]]) -> None:
        held = self._held
        if held:
            batch = [*held, *batch]
        if not batch:
            return
        entries = self._load()
        staged: dict[str, ManagedOrder] = {}
        rows = []
        for event, from_status, to_status in batch:
            before = staged.get(event.order_id) or self._orders.get(event.order_id)
            after = evolve(before, event)
            staged[event.order_id] = after
            rows.append(self._rows(event, after, from_status, to_status))
        source = self._events
        risk, lifecycle = source.pending() if source is not None else ((), ())
        if risk or lifecycle:
            seqs = self._db.record_transitions(rows, risk=risk, strategy=lifecycle)
            assert source is not None
            source.written()
        else:
            seqs = self._db.record_transitions(rows)
        self._held = []
        self._orders.update(staged)
        for (event, from_status, to_status), seq in zip(batch, seqs, strict=True):
            entries.append(JournalEntry(seq, event, from_status, to_status))
            self._seq = seq

    def _rows(self, event: OrderEvent, after: ManagedOrder, from_status: OrderStatus | None,
              to_status: OrderStatus) -> tuple[OrderRecord, OrderEventRecord,
                                                FillRecord | None]:
        record = OrderRecord(
            id=after.id, strategy=after.strategy, symbol=after.symbol, side=after.side,
            order_type=after.order_type, quantity=after.quantity, status=after.status,
            ts_init=after.ts_created, mode=self._mode, venue=self._venue,
            time_in_force=after.tif, limit_price=after.limit_price,
            stop_price=after.stop_price, reduce_only=after.reduce_only,
            venue_order_id=after.venue_order_id or None,
            filled_quantity=after.filled_quantity, ts_last=after.ts_last,
        )
        entry = OrderEventRecord(
            order_id=event.order_id, ts_event=event.ts_event, ts_init=event.ts_init,
            to_status=to_status, from_status=from_status, cause=_clip(event.cause),
            actor=_clip(event.actor), detail=encode(event),
        )
        fill = None
        if isinstance(event, OrderFilled):
            fill = FillRecord(
                fill_id=f"{event.order_id}/{event.trade_id}", order_id=event.order_id,
                strategy=after.strategy, symbol=after.symbol, side=after.side,
                quantity=event.quantity, price=event.price, commission=event.commission,
                ts_event=event.ts_event, ts_init=event.ts_init, liquidity=event.liquidity,
            )
        return record, entry, fill

    def events(self, order_id: str | None = None, since_seq: int = 0) -> list[JournalEntry]:
        self.flush()
        return [e for e in self._load() if e.seq > since_seq
                and (order_id is None or e.event.order_id == order_id)]

    def last_seq(self) -> int:
        self.flush()
        self._load()
        return self._seq



class EventSource(Protocol):
    """Risk and lifecycle events waiting for the database (the session's recorder)."""

    @property
    def repository(self) -> Any | None: ...

    def pending(self) -> tuple[list[Any], list[Any]]: ...

    def written(self) -> None: ...


#: told of each stored transition: (event, from status or None for a creation, to status)
TransitionListener = Callable[[OrderEvent, OrderStatus | None, OrderStatus], None]


class NotifyingJournal:
    """A journal that tells a listener of every transition once it is stored.

    Every status change of every order goes through the journal, in the order it happens,
    and is durable before the order manager acts on it: the session turns these into its
    strategies' order callbacks, so a strategy hears exactly what was journaled (its own
    cancels, cancels by risk or one-cancels-other, rejections, expiries), in every mode.
    The listener runs after the write and before the manager updates the order in memory,
    so it must not raise (``count`` also tells the session that a bar changed something).
    """

    def __init__(self, inner: Journal, listener: TransitionListener) -> None:
        self._inner = inner
        self._listener = listener
        #: transitions stored through this object
        self.count = 0

    @property
    def inner(self) -> Journal:
        return self._inner

    def append(self, event: OrderEvent, from_status: OrderStatus | None,
               to_status: OrderStatus) -> None:
        self._inner.append(event, from_status, to_status)
        self.count += 1
        self._listener(event, from_status, to_status)

    def append_many(self, entries: list[tuple[OrderEvent, OrderStatus | None,
                                               OrderStatus]]) -> None:
        self._inner.append_many(entries)
        self.count += len(entries)
        for event, from_status, to_status in entries:
            self._listener(event, from_status, to_status)

    def events(self, order_id: str | None = None, since_seq: int = 0) -> list[JournalEntry]:
        return self._inner.events(order_id, since_seq)

    def last_seq(self) -> int:
        return self._inner.last_seq()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
