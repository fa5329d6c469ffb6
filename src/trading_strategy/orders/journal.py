"""The append-only order journal, its JSON codec, and the audit trail of one order.

Journal rules:

* Append-only: the protocol has ``append`` and reads, no update or delete.
* ``append`` is atomic: it stores the entry and returns, or raises having stored nothing.
  The manager appends *before* it changes the order in memory, so the journal is always at
  least as new as the process state, and ``OrderManager`` rebuilt from it equals the live one.
* Each entry records the transition the manager decided at the time (``from_status`` →
  ``to_status``), not one re-derived later, and gets a ``seq`` (1, 2, 3 … in append order).

Codec (version 1) — ``encode(event)`` gives a flat JSON object, ``decode`` takes it back::

    {"v": 1, "kind": "filled", "order_id": "sma-s1-00000007",
     "ts_event": 1704205800123000000, "ts_init": 1704205800125000000,
     "cause": "venue fill", "actor": "venue:paper",
     "trade_id": "T-91", "quantity": "0.50", "price": "42000.5", "commission": "0.021",
     "liquidity": "taker", "venue_order_id": "V-17"}

* ``kind`` is one of ``created submitted accepted rejected denied filled cancel_requested
  cancel_rejected cancelled expired``; the other keys are exactly that event's fields.
* Timestamps are integer UTC nanoseconds; ``Decimal`` values are strings (``str(d)``, exact,
  trailing zeros kept); enums are their ``.value`` (``"buy"``, ``"limit"``, ``"GTC"``);
  absent optional values are ``null``; everything else is a JSON string, int or bool.
* Stability: a key is never renamed or re-typed within a version. A new optional field may be
  added with a default (older records still decode); anything else bumps ``v``. ``decode``
  rejects unknown versions, kinds and keys, and missing or mistyped fields, with
  ``CorruptJournal``.

A SQL journal stores ``seq`` (its autoincrement id), ``order_id``, ``from_status`` (``null``
for ``created``), ``to_status`` and the encoded event (the full object, so nanosecond
timestamps survive), and rebuilds a ``JournalEntry`` with ``decode``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.errors import OperatorActionRequired
from trading_strategy.orders.events import (
    EVENT_TYPES,
    OrderAccepted,
    OrderCancelRejected,
    OrderCreated,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderRejected,
)

__all__ = [
    "CODEC_VERSION",
    "CorruptJournal",
    "InMemoryJournal",
    "Journal",
    "JournalEntry",
    "decode",
    "encode",
    "explain",
]

CODEC_VERSION = 1


class CorruptJournal(OperatorActionRequired):
    """A journal record that cannot be decoded or replayed: a person must look at it."""


class JournalEntry(NamedTuple):
    """One journaled event with the transition it caused (``from_status`` is ``None`` for
    creation) and its position ``seq`` in the journal."""

    seq: int
    event: OrderEvent
    from_status: OrderStatus | None
    to_status: OrderStatus


class Journal(Protocol):
    """Append-only store of order events (in memory, SQL, ...)."""

    def append(
        self, event: OrderEvent, from_status: OrderStatus | None, to_status: OrderStatus
    ) -> None:
        """Store one event atomically as the next ``seq``, or raise having stored nothing."""
        ...

    def append_many(
        self, entries: list[tuple[OrderEvent, OrderStatus | None, OrderStatus]]
    ) -> None:
        """Store several events atomically (all or none), in order."""
        ...

    def events(self, order_id: str | None = None, since_seq: int = 0) -> list[JournalEntry]:
        """Entries with ``seq > since_seq`` (of one order, or all), in ``seq`` order."""
        ...

    def last_seq(self) -> int:
        """The ``seq`` of the newest entry; 0 when empty."""
        ...


class InMemoryJournal:
    """A ``Journal`` in a list: for tests and backtests (gone with the process)."""

    __slots__ = ("_by_order", "_entries")

    def __init__(self) -> None:
        self._entries: list[JournalEntry] = []
        self._by_order: dict[str, list[JournalEntry]] = {}

    def append(
        self, event: OrderEvent, from_status: OrderStatus | None, to_status: OrderStatus
    ) -> None:
        entry = JournalEntry(len(self._entries) + 1, event, from_status, to_status)
        self._entries.append(entry)
        self._by_order.setdefault(event.order_id, []).append(entry)

    def append_many(
        self, entries: list[tuple[OrderEvent, OrderStatus | None, OrderStatus]]
    ) -> None:
        for event, from_status, to_status in entries:
            self.append(event, from_status, to_status)

    def events(self, order_id: str | None = None, since_seq: int = 0) -> list[JournalEntry]:
        entries = self._entries if order_id is None else self._by_order.get(order_id, [])
        if since_seq <= 0:
            return list(entries)
        return [e for e in entries if e.seq > since_seq]

    def last_seq(self) -> int:
        return len(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


# --- codec -----------------------------------------------------------------------------------

def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


def _decimal(value: object) -> Decimal:
    result = Decimal(_str(value))
    if not result.is_finite():
        raise ValueError("expected a finite decimal")
    return result


def _enum(cls: type[StrEnum]) -> Callable[[object], StrEnum]:
    return lambda value: cls(_str(value))


#: how each field is read back; a field missing here is a string
_READERS: dict[str, Callable[[object], object]] = {
    "ts_event": _int, "ts_init": _int, "id_seq": _int, "reduce_only": _bool,
    "size_at_fill": _bool, "quantity_is_cap": _bool,
    "quantity": _decimal, "limit_price": _decimal, "stop_price": _decimal,
    "decision_price": _decimal, "price": _decimal, "commission": _decimal,
    "stop_loss": _decimal, "take_profit": _decimal, "order_quantity": _decimal,
    "side": _enum(Side), "order_type": _enum(OrderType), "tif": _enum(TimeInForce),
}
#: the fields that may be ``null``
_NULLABLE = frozenset({"limit_price", "stop_price", "decision_price", "id_seq", "stop_loss",
                       "take_profit", "order_quantity", "parent_id"})


#: each event class's field names, in declaration order (``dataclasses.fields`` rebuilds
#: them on every call; ``encode`` runs for every journaled transition)
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def encode(event: OrderEvent) -> dict[str, Any]:
    """The event as a JSON-serialisable dict (format in the module docstring)."""
    cls = type(event)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(event))
    data: dict[str, Any] = {"v": CODEC_VERSION, "kind": event.kind}
    for name in names:
        value = getattr(event, name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, StrEnum):
            value = value.value
        data[name] = value
    return data


def decode(data: Mapping[str, Any]) -> OrderEvent:
    """The event ``encode`` produced; raises ``CorruptJournal`` naming the bad key."""
    if data.get("v") != CODEC_VERSION:
        raise CorruptJournal(f"unsupported order event codec version {data.get('v')!r}")
    kind = data.get("kind")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise CorruptJournal(f"unknown order event kind {data.get('kind')!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields) - {"v", "kind"}
    if unknown:
        raise CorruptJournal(f"{cls.kind} event: unknown keys {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            if field.default is dataclasses.MISSING:
                raise CorruptJournal(f"{cls.kind} event: missing key {name!r}")
            continue
        value = data[name]
        try:
            nullable = value is None and name in _NULLABLE
            kwargs[name] = None if nullable else _READERS.get(name, _str)(value)
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise CorruptJournal(f"{cls.kind} event: bad {name!r} = {value!r}: {exc}") from None
    return cls(**kwargs)


# --- audit trail -----------------------------------------------------------------------------


def explain(order_id: str, journal: Journal) -> list[str]:
    """The audit trail of one order, one line per journaled event, oldest first::

        2024-01-02T14:30:00.123Z  submitted → accepted  venue_order_id=V-1  cause=... actor=...

    Fields are separated by two spaces: ``ts_event`` in UTC to the millisecond, ``from → to``
    (``new`` before creation), the event's own data if any (order terms, fill, venue id,
    reason), then ``cause=`` and ``actor=``. Empty when the journal has no such order.
    """
    lines = []
    for entry in journal.events(order_id):
        event = entry.event
        start = entry.from_status.value if entry.from_status is not None else "new"
        parts = [_iso_ms(event.ts_event), f"{start} → {entry.to_status.value}"]
        detail = _detail(event)
        if detail:
            parts.append(detail)
        parts.append(f"cause={event.cause}")
        parts.append(f"actor={event.actor}")
        lines.append("  ".join(parts))
    return lines


def _detail(event: OrderEvent) -> str:
    if isinstance(event, OrderCreated):
        words = [f"{event.side.value} {event.quantity} {event.symbol} {event.order_type.value}"]
        if event.limit_price is not None:
            words.append(f"limit={event.limit_price}")
        if event.stop_price is not None:
            words.append(f"stop={event.stop_price}")
        words.append(f"tif={event.tif.value}")
        if event.reduce_only:
            words.append("reduce_only")
        words.append(f"strategy={event.strategy}")
        if event.decision_price is not None:
            words.append(f"decision_price={event.decision_price}")
        return " ".join(words)
    if isinstance(event, OrderFilled):
        return (f"fill {event.quantity} @ {event.price} trade_id={event.trade_id} "
                f"commission={event.commission} liquidity={event.liquidity}")
    if isinstance(event, OrderAccepted):
        return f"venue_order_id={event.venue_order_id}"
    if isinstance(event, OrderRejected | OrderDenied | OrderCancelRejected):
        return f"reason={event.reason}"
    return ""


def _iso_ms(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{rest // 1_000_000:03d}Z"
