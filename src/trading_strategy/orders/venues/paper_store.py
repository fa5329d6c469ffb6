"""The paper venue's own database: every order, status change and fill it acknowledged.

The paper venue stands in for an external exchange, so it keeps its state in its own SQLite
file (never the application's database): by default ``<data_dir>/paper-venue.sqlite3``.

Rules:

* **Write-ahead.** The venue computes a state change, writes it here in ONE transaction
  (order row, fill row, balances, positions and an ``order_events`` audit row together), and
  only then applies it in memory. A failed write leaves memory unchanged.
* **Durable across SIGKILL.** SQLite runs in WAL mode with ``synchronous=NORMAL``: a
  committed transaction survives the death of the process (an operating-system crash may
  lose the commits since the last checkpoint, every ~40 MB of WAL, which is acceptable for
  a simulator).
* **Exact numbers.** Prices, quantities and money are stored as decimal strings and read
  back as ``Decimal``; nothing passes through a float.
* **Rebuilt on start.** ``load()`` returns every order (open and closed), every fill, the
  balances and the positions; the venue resumes from them.

Tables are SQLAlchemy 2 Core, created with ``metadata.create_all`` (no migrations: the file
belongs to the simulator and may be deleted to start afresh).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.orders.venues.base import FillReport, OrderAck, OrderRequest, OrderState

DEFAULT_FILENAME = "paper-venue.sqlite3"

metadata = MetaData()

orders_table = Table(
    "paper_orders", metadata,
    Column("client_order_id", String(128), primary_key=True),
    Column("venue_order_id", String(64), nullable=False, unique=True),
    Column("seq", Integer, nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("side", String(8), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("quantity", String(64), nullable=False),
    Column("limit_price", String(64)),
    Column("stop_price", String(64)),
    Column("tif", String(8), nullable=False),
    Column("reduce_only", Boolean, nullable=False),
    Column("strategy", String(128), nullable=False),
    Column("status", String(32), nullable=False),
    Column("reason", String(512), nullable=False),
    Column("filled_quantity", String(64), nullable=False),
    Column("notional", String(64), nullable=False),
    Column("triggered", Boolean, nullable=False),
    Column("commission_charged", Boolean, nullable=False),
    Column("after_ts", BigInteger, nullable=False),
    Column("active_from", BigInteger),
    Column("first_day", BigInteger),
    Column("ts_accepted", BigInteger, nullable=False),
    Column("ts_updated", BigInteger, nullable=False),
    Column("size_at_fill", Boolean, nullable=False, server_default="0"),
    Column("quantity_is_cap", Boolean, nullable=False, server_default="1"),
)

fills_table = Table(
    "paper_fills", metadata,
    Column("trade_id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),
    Column("client_order_id", String(128), nullable=False, index=True),
    Column("venue_order_id", String(64), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("side", String(8), nullable=False),
    Column("quantity", String(64), nullable=False),
    Column("price", String(64), nullable=False),
    Column("commission", String(64), nullable=False),
    Column("ts_event", BigInteger, nullable=False, index=True),
    Column("liquidity", String(16), nullable=False),
    Column("order_quantity", String(64)),
    Column("at_open", Boolean, nullable=False, server_default="0"),
)

balances_table = Table(
    "paper_balances", metadata,
    Column("currency", String(16), primary_key=True),
    Column("amount", String(64), nullable=False),
)

positions_table = Table(
    "paper_positions", metadata,
    Column("symbol", String(64), primary_key=True),
    Column("quantity", String(64), nullable=False),
)

events_table = Table(
    "paper_order_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_order_id", String(128), nullable=False, index=True),
    Column("ts_event", BigInteger, nullable=False),
    Column("from_status", String(32)),
    Column("to_status", String(32), nullable=False),
    Column("cause", String(32), nullable=False),
    Column("reason", String(512), nullable=False),
)


@dataclass(slots=True)
class OrderRecord:
    """One order as the paper venue knows it (the in-memory and the stored shape).

    ``after_ts``: the newest bar of the symbol seen when the order was accepted (-1: none);
    ``active_from``: set by the first newer bar, ``that bar's ts + latency``; the order may
    match bars with ``ts >= active_from``. ``first_day``: UTC day of the first eligible bar
    (for DAY orders). ``notional``: sum of fill quantity × price (average price).
    """

    client_order_id: str
    venue_order_id: str
    seq: int
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    tif: TimeInForce
    reduce_only: bool
    strategy: str
    status: OrderStatus
    reason: str
    ts_accepted: int
    ts_updated: int
    after_ts: int = -1
    filled_quantity: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    triggered: bool = False
    commission_charged: bool = False
    active_from: int | None = None
    first_day: int | None = None
    #: all-in: ``quantity`` is the maximum; the first fill sizes it from the cash then
    size_at_fill: bool = False
    #: all-in only: ``False`` when ``quantity`` is no cap (the fill takes what the cash pays,
    #: even more); kept so a venue restarted mid-order fills it as it would have
    quantity_is_cap: bool = True

    @classmethod
    def from_request(cls, r: OrderRequest, seq: int, status: OrderStatus, reason: str,
                     now: int, after_ts: int) -> OrderRecord:
        return cls(r.client_order_id, f"P{seq:08d}", seq, r.symbol, r.side, r.order_type,
                   r.quantity, r.limit_price, r.stop_price, r.tif, r.reduce_only, r.strategy,
                   status, reason, now, now, after_ts, size_at_fill=r.size_at_fill,
                   quantity_is_cap=r.quantity_is_cap)

    def ack(self, ts: int) -> OrderAck:
        return OrderAck(self.client_order_id, self.venue_order_id, self.status, self.reason, ts)

    def state(self, tick_size: Decimal | None) -> OrderState:
        """What the venue reports of this order; the average price to 1/10 000 tick."""
        avg = None
        if self.filled_quantity:
            avg = self.notional / self.filled_quantity
            if tick_size is not None:
                avg = avg.quantize(tick_size / 10_000).normalize()
        return OrderState(self.client_order_id, self.venue_order_id, self.symbol, self.side,
                          self.order_type, self.quantity, self.filled_quantity, self.status,
                          self.limit_price, self.stop_price, avg)

    def to_row(self) -> dict[str, Any]:
        return {
            "client_order_id": self.client_order_id, "venue_order_id": self.venue_order_id,
            "seq": self.seq, "symbol": self.symbol, "side": self.side.value,
            "order_type": self.order_type.value, "quantity": str(self.quantity),
            "limit_price": _opt_str(self.limit_price), "stop_price": _opt_str(self.stop_price),
            "tif": self.tif.value, "reduce_only": self.reduce_only, "strategy": self.strategy,
            "status": self.status.value, "reason": self.reason,
            "filled_quantity": str(self.filled_quantity), "notional": str(self.notional),
            "triggered": self.triggered, "commission_charged": self.commission_charged,
            "after_ts": self.after_ts, "active_from": self.active_from,
            "first_day": self.first_day, "ts_accepted": self.ts_accepted,
            "ts_updated": self.ts_updated, "size_at_fill": self.size_at_fill,
            "quantity_is_cap": self.quantity_is_cap,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> OrderRecord:
        return cls(
            client_order_id=row["client_order_id"], venue_order_id=row["venue_order_id"],
            seq=row["seq"], symbol=row["symbol"], side=Side(row["side"]),
            order_type=OrderType(row["order_type"]), quantity=Decimal(row["quantity"]),
            limit_price=_opt_dec(row["limit_price"]), stop_price=_opt_dec(row["stop_price"]),
            tif=TimeInForce(row["tif"]), reduce_only=bool(row["reduce_only"]),
            strategy=row["strategy"], status=OrderStatus(row["status"]), reason=row["reason"],
            ts_accepted=row["ts_accepted"], ts_updated=row["ts_updated"],
            after_ts=row["after_ts"], filled_quantity=Decimal(row["filled_quantity"]),
            notional=Decimal(row["notional"]), triggered=bool(row["triggered"]),
            commission_charged=bool(row["commission_charged"]),
            active_from=row["active_from"], first_day=row["first_day"],
            size_at_fill=bool(row.get("size_at_fill", False)),
            quantity_is_cap=bool(row.get("quantity_is_cap", True)),
        )


@dataclass(frozen=True, slots=True)
class FillRecord:
    trade_id: str
    seq: int
    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    commission: Decimal
    ts_event: int
    liquidity: str
    #: an all-in order's size, set by its first fill (``FillReport.order_quantity``)
    order_quantity: Decimal | None = None
    #: filled at its bar's open: the exits attached to it are live for the rest of that bar
    #: (kept so a venue restarted within the bar still places them so)
    at_open: bool = False

    def report(self) -> FillReport:
        return FillReport(self.client_order_id, self.venue_order_id, self.trade_id, self.symbol,
                          self.side, self.quantity, self.price, self.commission, self.ts_event,
                          self.liquidity, self.order_quantity)


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One audit row: an order's status moved (or it was accepted, or it filled)."""

    client_order_id: str
    ts_event: int
    from_status: OrderStatus | None
    to_status: OrderStatus
    cause: str
    reason: str = ""


@dataclass(slots=True)
class Change:
    """Everything one venue state change writes, committed in one transaction."""

    orders: list[OrderRecord] = field(default_factory=list)
    new_orders: list[OrderRecord] = field(default_factory=list)
    fills: list[FillRecord] = field(default_factory=list)
    balances: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[str, Decimal] = field(default_factory=dict)
    events: list[OrderEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoredState:
    orders: list[OrderRecord]
    fills: list[FillRecord]
    balances: dict[str, Decimal]
    positions: dict[str, Decimal]


def default_path(data_dir: Path) -> Path:
    """``<data_dir>/paper-venue.sqlite3`` (the caller reads ``data_dir`` from the settings:
    an adapter does not import the configuration layer)."""
    return data_dir / DEFAULT_FILENAME


class PaperStore:
    """A SQLite file holding one paper venue's state. Not shared with anything else."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._engine: Engine = create_engine(f"sqlite:///{self.path}")
        self._kept: Any = None
        self._kept_thread = 0
        event.listen(self._engine, "connect", _sqlite_pragmas)
        metadata.create_all(self._engine)
        _add_missing_columns(self._engine)

    def load(self) -> StoredState:
        with self._engine.connect() as conn:
            orders = [OrderRecord.from_row(dict(r._mapping)) for r in
                      conn.execute(select(orders_table).order_by(orders_table.c.seq))]
            fills = [_fill_from_row(dict(r._mapping)) for r in
                     conn.execute(select(fills_table).order_by(fills_table.c.seq))]
            balances = {r.currency: Decimal(r.amount)
                        for r in conn.execute(select(balances_table))}
            positions = {r.symbol: Decimal(r.quantity)
                         for r in conn.execute(select(positions_table))}
        return StoredState(orders, fills, balances, positions)

    def write(self, change: Change) -> None:
        """Commit ``change`` atomically (all of it or none).

        On SQLite's own cursor with statements built once (``_SQL``): the venue writes once
        per acceptance, fill and close, and SQLAlchemy's execution and transaction cost
        several times the write itself. Every column is TEXT, INTEGER or a Boolean (stored
        as 0/1), so the driver stores what SQLAlchemy's Core would."""
        raw = self._writer()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                if change.new_orders:
                    cursor.executemany(_SQL.insert_order,
                                       [_values(o.to_row()) for o in change.new_orders])
                if change.orders:
                    cursor.executemany(_SQL.update_order, [
                        (*_values(o.to_row())[1:], o.client_order_id) for o in change.orders])
                if change.fills:
                    cursor.executemany(_SQL.insert_fill,
                                       [_values(_fill_to_row(f), _FILL_COLUMNS)
                                        for f in change.fills])
                if change.balances:
                    cursor.executemany(_SQL.upsert_balance,
                                       [(k, str(v)) for k, v in change.balances.items()])
                if change.positions:
                    cursor.executemany(_SQL.upsert_position,
                                       [(k, str(v)) for k, v in change.positions.items()])
                if change.events:
                    cursor.executemany(_SQL.insert_event,
                                       [_values(_event_row(e), _EVENT_COLUMNS)
                                        for e in change.events])
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        except BaseException:
            if raw is self._kept:  # a connection in an unknown state is not kept
                self._kept = None
                raw.invalidate()
            raise
        finally:
            if raw is not self._kept:
                raw.close()

    def _writer(self) -> Any:
        """The connection ``write`` uses: one kept for the thread that wrote first (no pool
        checkout per write), a pooled one for any other thread (pysqlite connections
        belong to the thread that made them)."""
        if self._kept is None:
            self._kept, self._kept_thread = self._engine.raw_connection(), threading.get_ident()
            return self._kept
        if self._kept_thread == threading.get_ident():
            return self._kept
        return self._engine.raw_connection()

    def events(self, client_order_id: str | None = None) -> list[OrderEvent]:
        """The audit trail, oldest first (of one order when given)."""
        query = select(events_table).order_by(events_table.c.id)
        if client_order_id is not None:
            query = query.where(events_table.c.client_order_id == client_order_id)
        with self._engine.connect() as conn:
            return [OrderEvent(r.client_order_id, r.ts_event,
                               OrderStatus(r.from_status) if r.from_status else None,
                               OrderStatus(r.to_status), r.cause, r.reason)
                    for r in conn.execute(query)]

    def close(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None:
            kept.close()
        self._engine.dispose()


def _add_missing_columns(engine: Engine) -> None:
    """A file from an older version gains the columns added since (all have defaults)."""
    with engine.begin() as conn:
        have = {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(paper_orders)")}
        if "size_at_fill" not in have:
            conn.exec_driver_sql("ALTER TABLE paper_orders ADD COLUMN size_at_fill "
                                 "BOOLEAN NOT NULL DEFAULT 0")
        if "quantity_is_cap" not in have:
            conn.exec_driver_sql("ALTER TABLE paper_orders ADD COLUMN quantity_is_cap "
                                 "BOOLEAN NOT NULL DEFAULT 1")
        have = {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(paper_fills)")}
        if "order_quantity" not in have:
            conn.exec_driver_sql("ALTER TABLE paper_fills ADD COLUMN order_quantity "
                                 "VARCHAR(64)")
        if "at_open" not in have:
            conn.exec_driver_sql("ALTER TABLE paper_fills ADD COLUMN at_open "
                                 "BOOLEAN NOT NULL DEFAULT 0")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # checkpoint (and fsync) every ~40 MB of WAL, not every ~4 MB: a checkpoint stalls the
    # write that triggers it by milliseconds, on the order placement path
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def _columns(table: Table) -> tuple[str, ...]:
    """The columns a row dict fills (an autoincrement id is the database's)."""
    return tuple(c.name for c in table.columns if c.autoincrement is not True)


def _insert_sql(table: Table, tail: str = "") -> str:
    names = _columns(table)
    return (f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' for _ in names)}){tail}")


class _Statements:
    """``write``'s SQL, in the column order of the tables (and of ``to_row``)."""

    def __init__(self) -> None:
        order_columns = [c.name for c in orders_table.columns]
        self.insert_order = _insert_sql(orders_table)
        self.update_order = (f"UPDATE {orders_table.name} SET "
                             + ", ".join(f"{c} = ?" for c in order_columns[1:])
                             + " WHERE client_order_id = ?")
        self.insert_fill = _insert_sql(fills_table)
        self.insert_event = _insert_sql(events_table)
        self.upsert_balance = _insert_sql(
            balances_table, " ON CONFLICT (currency) DO UPDATE SET amount = excluded.amount")
        self.upsert_position = _insert_sql(
            positions_table, " ON CONFLICT (symbol) DO UPDATE SET quantity = excluded.quantity")


_SQL = _Statements()
_ORDER_COLUMNS = _columns(orders_table)
_FILL_COLUMNS = _columns(fills_table)
_EVENT_COLUMNS = _columns(events_table)


def _values(row: Mapping[str, Any], columns: tuple[str, ...] = _ORDER_COLUMNS
            ) -> tuple[Any, ...]:
    """A row's values in its table's column order."""
    return tuple(row[c] for c in columns)


def _opt_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _opt_dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _fill_to_row(f: FillRecord) -> dict[str, Any]:
    return {"trade_id": f.trade_id, "seq": f.seq, "client_order_id": f.client_order_id,
            "venue_order_id": f.venue_order_id, "symbol": f.symbol, "side": f.side.value,
            "quantity": str(f.quantity), "price": str(f.price), "commission": str(f.commission),
            "ts_event": f.ts_event, "liquidity": f.liquidity,
            "order_quantity": _opt_str(f.order_quantity), "at_open": f.at_open}


def _fill_from_row(row: Mapping[str, Any]) -> FillRecord:
    return FillRecord(row["trade_id"], row["seq"], row["client_order_id"],
                      row["venue_order_id"], row["symbol"], Side(row["side"]),
                      Decimal(row["quantity"]), Decimal(row["price"]),
                      Decimal(row["commission"]), row["ts_event"], row["liquidity"],
                      _opt_dec(row.get("order_quantity")), bool(row.get("at_open", False)))


def _event_row(e: OrderEvent) -> dict[str, Any]:
    return {"client_order_id": e.client_order_id, "ts_event": e.ts_event,
            "from_status": e.from_status.value if e.from_status else None,
            "to_status": e.to_status.value, "cause": e.cause, "reason": e.reason}


def iter_open(orders: Iterable[OrderRecord]) -> list[OrderRecord]:
    return [o for o in orders if o.status.is_open]
