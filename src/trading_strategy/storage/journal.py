"""Orders, their append-only event journal, fills and positions (paper and live trading).

Minimal on purpose: the order manager owns the state machine; this stores its results.
``record_transition`` writes an order's new state and the journal entry explaining it in
one transaction, so the orders table never disagrees with its journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from trading_strategy.core.bars import datetime_to_ns
from trading_strategy.storage.events import (
    _INSERT_RISK,
    _INSERT_STRATEGY,
    _risk_values,
    _strategy_values,
)
from trading_strategy.storage.jsonable import from_json, to_json
from trading_strategy.storage.records import (
    FillRecord,
    OrderEventRecord,
    OrderRecord,
    PositionRecord,
    RiskEventRecord,
    StrategyEventRecord,
    text_of,
)
from trading_strategy.storage.tables import (
    FillRow,
    OrderEventRow,
    OrderRow,
    PositionRow,
    RiskEventRow,
    StrategyEventRow,
)
from trading_strategy.storage.transactions import (
    DriverInsert,
    DriverWriter,
    reading,
    writing,
)
from trading_strategy.storage.types import to_utc

__all__ = ["TradingJournal"]


def _order_values(order: OrderRecord) -> dict[str, Any]:
    return {
        "venue_order_id": order.venue_order_id, "mode": order.mode,
        "strategy": order.strategy, "symbol": order.symbol, "venue": order.venue,
        "side": text_of(order.side), "order_type": text_of(order.order_type),
        "time_in_force": text_of(order.time_in_force), "quantity": order.quantity,
        "limit_price": order.limit_price, "stop_price": order.stop_price,
        "reduce_only": order.reduce_only, "parent_id": order.parent_id,
        "status": text_of(order.status), "filled_quantity": order.filled_quantity,
        "updated_at": to_utc(order.ts_last if order.ts_last is not None else order.ts_init),
    }


# Core tables, not ORM entities, on the write path: the statements compile from cache and
# skip the ORM's bulk-persistence layer (it is on the order placement latency path).
_ORDERS: Table = OrderRow.__table__  # type: ignore[assignment]
_EVENTS: Table = OrderEventRow.__table__  # type: ignore[assignment]
_FILLS: Table = FillRow.__table__  # type: ignore[assignment]


# Statements are built once and executed with parameters: building a statement per call
# (``insert(...).values(...)``) costs ~150 µs in SQLAlchemy, the SQLite write itself ~10 µs.
_UPDATABLE = ("venue_order_id", "mode", "strategy", "symbol", "venue", "side", "order_type",
              "time_in_force", "quantity", "limit_price", "stop_price", "reduce_only",
              "parent_id", "status", "filled_quantity", "updated_at")
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
#: several events in one statement; ids come back in the order of the rows given
_INSERT_EVENTS = insert(_EVENTS).returning(_EVENTS.c.id, sort_by_parameter_order=True)
_FILL_KNOWN = select(_FILLS.c.id).where(_FILLS.c.fill_id == bindparam("fill_id"))
_INSERT_FILL = insert(_FILLS)
_UPSERTS: dict[str, Any] = {}


def _upsert_order_statement(dialect: str) -> Any:
    statement = _UPSERTS.get(dialect)
    if statement is None:
        ins = (sqlite_insert if dialect == "sqlite" else pg_insert)(_ORDERS)
        statement = _UPSERTS[dialect] = ins.on_conflict_do_update(
            index_elements=[_ORDERS.c.id], set_={k: ins.excluded[k] for k in _UPDATABLE})
    return statement


def _save_order(connection: Connection, order: OrderRecord) -> None:
    """Insert or update in one statement (both engines support ``ON CONFLICT``)."""
    values = _order_values(order)
    dialect = connection.dialect.name
    if dialect not in ("sqlite", "postgresql"):  # pragma: no cover - the engines we support
        exists = connection.execute(select(_ORDERS.c.id).where(_ORDERS.c.id == order.id)).first()
        if exists is None:
            connection.execute(insert(_ORDERS).values(
                id=order.id, created_at=to_utc(order.ts_init), **values))
        else:
            connection.execute(update(_ORDERS).where(_ORDERS.c.id == order.id).values(**values))
        return
    connection.execute(_upsert_order_statement(dialect),
                       {"id": order.id, "created_at": to_utc(order.ts_init), **values})


_PLAIN = frozenset({str, int, bool, type(None)})


def _detail_json(detail: Any) -> Any:
    """``to_json(detail)``, skipping its walk for the flat dict of plain values the order
    journal's codec writes for every transition (``to_json`` returns those unchanged)."""
    if type(detail) is dict and all(type(k) is str and type(v) in _PLAIN
                                    for k, v in detail.items()):
        return detail
    return to_json(detail)


def _event_values(event: OrderEventRecord) -> dict[str, Any]:
    return {
        "order_id": event.order_id, "ts_event": to_utc(event.ts_event),
        "ts_init": to_utc(event.ts_init),
        "from_status": None if event.from_status is None else text_of(event.from_status),
        "to_status": text_of(event.to_status), "cause": event.cause, "actor": event.actor,
        "detail": _detail_json(event.detail),
    }


def _append_event(connection: Connection, event: OrderEventRecord) -> int:
    new_id: int = connection.execute(_INSERT_EVENT, _event_values(event)).scalar_one()
    return new_id


def _append_events(connection: Connection, events: list[OrderEventRecord]) -> list[int]:
    """Several entries in one statement (a round trip per entry is most of a write)."""
    if len(events) == 1:
        return [_append_event(connection, events[0])]
    rows = connection.execute(_INSERT_EVENTS, [_event_values(e) for e in events]).all()
    return [int(row[0]) for row in rows]


def _fill_values(fill: FillRecord) -> dict[str, Any]:
    return {
        "fill_id": fill.fill_id, "order_id": fill.order_id, "strategy": fill.strategy,
        "symbol": fill.symbol, "side": text_of(fill.side), "quantity": fill.quantity,
        "price": fill.price, "commission": fill.commission, "liquidity": fill.liquidity,
        "ts_event": to_utc(fill.ts_event),
        "ts_init": to_utc(fill.ts_init if fill.ts_init is not None else fill.ts_event),
    }


def _record_fill(connection: Connection, fill: FillRecord) -> bool:
    if connection.execute(_FILL_KNOWN, {"fill_id": fill.fill_id}).first() is not None:
        return False
    connection.execute(_INSERT_FILL, _fill_values(fill))
    return True


class _DriverStatements:
    """``record_transitions``' statements on SQLite's own cursor (``DriverInsert``): the
    same rows, without SQLAlchemy's per-statement cost on the order placement path."""

    def __init__(self, engine: Engine) -> None:
        self.writer = DriverWriter(engine)
        dialect = engine.dialect
        self.order = DriverInsert(
            _ORDERS, ("id", "created_at", *_UPDATABLE), dialect,
            tail=" ON CONFLICT (id) DO UPDATE SET "
                 + ", ".join(f"{c} = excluded.{c}" for c in _UPDATABLE))
        self.event = DriverInsert(_EVENTS, _EVENT_COLUMNS, dialect)
        # a known fill_id (unique) is skipped, as ``_record_fill`` does
        self.fill = DriverInsert(_FILLS, _FILL_COLUMNS, dialect,
                                 tail=" ON CONFLICT (fill_id) DO NOTHING")
        self.risk = DriverInsert(_RISK, _RISK_COLUMNS, dialect)
        self.strategy = DriverInsert(_STRATEGY, _STRATEGY_COLUMNS, dialect)

    def record(self, orders: list[OrderRecord], events: list[OrderEventRecord],
               fills: list[FillRecord], risk: Sequence[RiskEventRecord],
               strategy: Sequence[StrategyEventRecord]) -> list[int]:
        with self.writer.writing() as cursor:
            if risk:
                self.risk.insert_many(cursor, [_risk_values(e) for e in risk])
            if strategy:
                self.strategy.insert_many(cursor, [_strategy_values(e) for e in strategy])
            self.order.insert_many(cursor, [
                {"id": o.id, "created_at": to_utc(o.ts_init), **_order_values(o)}
                for o in orders])
            # one writer (BEGIN IMMEDIATE): each row's id is the rowid it was given
            ids = [self.event.insert(cursor, _event_values(e)) for e in events]
            if fills:
                self.fill.insert_many(cursor, [_fill_values(f) for f in fills])
        return ids


_RISK: Table = RiskEventRow.__table__  # type: ignore[assignment]
_STRATEGY: Table = StrategyEventRow.__table__  # type: ignore[assignment]
#: the keys of ``_event_values``, ``_fill_values`` and of the event repository's values
_EVENT_COLUMNS = ("order_id", "ts_event", "ts_init", "from_status", "to_status", "cause",
                  "actor", "detail")
_FILL_COLUMNS = ("fill_id", "order_id", "strategy", "symbol", "side", "quantity", "price",
                 "commission", "liquidity", "ts_event", "ts_init")
_RISK_COLUMNS = ("ts_event", "strategy", "verdict", "reason", "symbol", "client_order_id",
                 "trading_state", "detail")
_STRATEGY_COLUMNS = ("ts_event", "strategy", "from_state", "to_state", "reason", "detail")


def _order(row: Any) -> OrderRecord:
    return OrderRecord(
        id=row.id, strategy=row.strategy, symbol=row.symbol, side=row.side,
        order_type=row.order_type, quantity=row.quantity, status=row.status,
        ts_init=datetime_to_ns(row.created_at), mode=row.mode, venue=row.venue,
        time_in_force=row.time_in_force, limit_price=row.limit_price,
        stop_price=row.stop_price, reduce_only=row.reduce_only, parent_id=row.parent_id,
        venue_order_id=row.venue_order_id, filled_quantity=row.filled_quantity,
        ts_last=datetime_to_ns(row.updated_at),
    )


def _event_record(row: Any) -> OrderEventRecord:
    return OrderEventRecord(
        order_id=row.order_id, ts_event=datetime_to_ns(row.ts_event),
        ts_init=datetime_to_ns(row.ts_init), to_status=row.to_status,
        cause=row.cause, actor=row.actor, from_status=row.from_status,
        detail=from_json(row.detail), id=row.id,
    )


class TradingJournal:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._driver = _DriverStatements(engine) if engine.dialect.name == "sqlite" else None

    def save_order(self, order: OrderRecord) -> None:
        """Insert the order, or update its mutable fields if the id exists."""
        with writing(self._engine) as connection:
            _save_order(connection, order)

    def record_transition(self, order: OrderRecord, event: OrderEventRecord, *,
                          fill: FillRecord | None = None) -> int:
        """Save ``order`` in its new state, journal ``event`` and record the ``fill`` it
        carries (if any, idempotent on ``fill_id``), atomically; returns the event id."""
        with writing(self._engine) as connection:
            _save_order(connection, order)
            event_id = _append_event(connection, event)
            if fill is not None:
                _record_fill(connection, fill)
            return event_id

    def record_transitions(
        self, rows: list[tuple[OrderRecord, OrderEventRecord, FillRecord | None]], *,
        risk: Sequence[RiskEventRecord] = (), strategy: Sequence[StrategyEventRecord] = (),
    ) -> list[int]:
        """``record_transition`` for several, in one transaction; the event ids in order.

        An order that changes more than once in the batch is saved once, in its last
        state (CREATED and SUBMITTED of one placement: the row ends SUBMITTED either way).
        ``risk`` and ``strategy`` events (``EventRepository.save_events``) recorded before
        these transitions go in the same transaction: a session's risk verdict is then
        committed with the order it allowed, not in a transaction of its own.
        """
        last: dict[str, OrderRecord] = {}
        for order, _event, _fill in rows:
            last.pop(order.id, None)
            last[order.id] = order
        if self._driver is not None:
            return self._driver.record(list(last.values()),
                                       [event for _order, event, _fill in rows],
                                       [fill for _order, _event, fill in rows
                                        if fill is not None], risk, strategy)
        with writing(self._engine) as connection:
            if risk:
                connection.execute(_INSERT_RISK, [_risk_values(e) for e in risk])
            if strategy:
                connection.execute(_INSERT_STRATEGY, [_strategy_values(e) for e in strategy])
            for order in last.values():
                _save_order(connection, order)
            ids = _append_events(connection, [event for _order, event, _fill in rows])
            for _order, _event, fill in rows:
                if fill is not None:
                    _record_fill(connection, fill)
        return ids

    def shares_database(self, repository: object) -> bool:
        """Whether ``repository`` (an ``EventRepository``) writes to this journal's
        database, so its events may join ``record_transitions``' transaction."""
        return getattr(repository, "_engine", None) is self._engine

    def append_event(self, event: OrderEventRecord) -> int:
        with writing(self._engine) as connection:
            return _append_event(connection, event)

    def get_order(self, order_id: str) -> OrderRecord | None:
        with reading(self._engine) as connection:
            row = connection.execute(
                select(OrderRow.__table__).where(OrderRow.id == order_id)
            ).first()
        return None if row is None else _order(row)

    def orders(self, *, strategy: str | None = None, status: str | None = None,
               mode: str | None = None) -> list[OrderRecord]:
        query = select(OrderRow.__table__).order_by(OrderRow.created_at, OrderRow.id)
        for column, value in ((OrderRow.strategy, strategy), (OrderRow.status, status),
                              (OrderRow.mode, mode)):
            if value is not None:
                query = query.where(column == value)
        with reading(self._engine) as connection:
            return [_order(row) for row in connection.execute(query).all()]

    def order_events(self, order_id: str) -> list[OrderEventRecord]:
        """The journal of one order, in the order it was written."""
        with reading(self._engine) as connection:
            rows = connection.execute(
                select(OrderEventRow.__table__).where(OrderEventRow.order_id == order_id)
                .order_by(OrderEventRow.id)
            ).all()
        return [_event_record(row) for row in rows]

    def events_of_orders(self, *, mode: str | None = None,
                         id_contains: str | None = None) -> list[OrderEventRecord]:
        """The journal entries of every order of ``mode`` whose id contains ``id_contains``
        (both optional), in the order they were written: one query, where asking
        ``order_events`` per order made one per order (a session's view and restart)."""
        query = (select(OrderEventRow.__table__)
                 .join(OrderRow, OrderRow.id == OrderEventRow.order_id)
                 .order_by(OrderEventRow.id))
        if mode is not None:
            query = query.where(OrderRow.mode == mode)
        if id_contains is not None:
            # a pre-filter (SQLite's LIKE ignores ASCII case): the exact test is below
            query = query.where(OrderRow.id.contains(id_contains, autoescape=True))
        with reading(self._engine) as connection:
            rows = connection.execute(query).all()
        return [_event_record(row) for row in rows
                if id_contains is None or id_contains in row.order_id]

    def record_fill(self, fill: FillRecord) -> bool:
        """Store a fill; ``False`` (and nothing written) if its ``fill_id`` is known."""
        with writing(self._engine) as connection:
            return _record_fill(connection, fill)

    def fills(self, *, order_id: str | None = None, strategy: str | None = None
              ) -> list[FillRecord]:
        query = select(FillRow.__table__).order_by(FillRow.ts_event, FillRow.id)
        if order_id is not None:
            query = query.where(FillRow.order_id == order_id)
        if strategy is not None:
            query = query.where(FillRow.strategy == strategy)
        with reading(self._engine) as connection:
            rows = connection.execute(query).all()
        return [
            FillRecord(
                fill_id=row.fill_id, order_id=row.order_id, strategy=row.strategy,
                symbol=row.symbol, side=row.side, quantity=row.quantity, price=row.price,
                commission=row.commission, ts_event=datetime_to_ns(row.ts_event),
                ts_init=datetime_to_ns(row.ts_init), liquidity=row.liquidity,
            )
            for row in rows
        ]

    def save_position(self, position: PositionRecord) -> None:
        """Insert or replace the position of (mode, strategy, symbol)."""
        key = (PositionRow.mode == position.mode, PositionRow.strategy == position.strategy,
               PositionRow.symbol == position.symbol)
        values = {"quantity": position.quantity, "avg_price": position.avg_price,
                  "realized_pnl": position.realized_pnl, "updated_at": to_utc(position.ts)}
        with writing(self._engine) as connection:
            if connection.execute(select(PositionRow.id).where(*key)).first() is None:
                connection.execute(insert(PositionRow).values(
                    mode=position.mode, strategy=position.strategy, symbol=position.symbol,
                    **values))
            else:
                connection.execute(update(PositionRow).where(*key).values(**values))

    def positions(self, *, mode: str | None = None, strategy: str | None = None,
                  include_flat: bool = False) -> list[PositionRecord]:
        query = select(PositionRow.__table__).order_by(PositionRow.strategy, PositionRow.symbol)
        if mode is not None:
            query = query.where(PositionRow.mode == mode)
        if strategy is not None:
            query = query.where(PositionRow.strategy == strategy)
        with reading(self._engine) as connection:
            rows = connection.execute(query).all()
        return [
            PositionRecord(row.mode, row.strategy, row.symbol, row.quantity, row.avg_price,
                           row.realized_pnl, datetime_to_ns(row.updated_at))
            for row in rows if include_flat or row.quantity != Decimal(0)
        ]
