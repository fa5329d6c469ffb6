"""The schema as SQLAlchemy 2 typed models (the migrations in ``migrations/`` create it).

These rows are storage details: repositories turn them into domain values or small result
dataclasses, and no other package imports this module. Prices, quantities and money are
``ExactDecimal``; statistics (Sharpe, returns) are floats; times are ``UtcTimestamp``.

``bars`` has no foreign key to ``instruments`` on purpose: PostgreSQL checks a foreign key
with one trigger query per inserted row, which tripled the cost of a 1M-bar COPY when
measured. Bars are written only by the bar store, which resolves and locks the instrument
row in the same transaction, so the guarantee holds without the per-row check.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from trading_strategy.storage.types import ExactDecimal, JsonDocument, UtcTimestamp

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --- market data ----------------------------------------------------------------------


class InstrumentRow(Base):
    __tablename__ = "instruments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(64), unique=True)
    venue: Mapped[str] = mapped_column(String(32))
    asset_class: Mapped[str] = mapped_column(String(16))
    tick_size: Mapped[Decimal] = mapped_column(ExactDecimal())
    lot_size: Mapped[Decimal] = mapped_column(ExactDecimal())
    currency: Mapped[str] = mapped_column(String(16))
    calendar: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())


class BarRow(Base):
    __tablename__ = "bars"
    # Clustered on the key on SQLite: a range read is one sequential B-tree walk.
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy reads it)

    instrument_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcTimestamp(), primary_key=True)  # bar open
    open: Mapped[Decimal] = mapped_column(ExactDecimal())
    high: Mapped[Decimal] = mapped_column(ExactDecimal())
    low: Mapped[Decimal] = mapped_column(ExactDecimal())
    close: Mapped[Decimal] = mapped_column(ExactDecimal())
    volume: Mapped[Decimal] = mapped_column(ExactDecimal())
    #: the provider whose values these are (a live or backfilled bar); NULL: a file import
    source: Mapped[str | None] = mapped_column(String(32), nullable=True)


# --- backtests ------------------------------------------------------------------------


class BacktestRunRow(Base):
    __tablename__ = "backtest_runs"
    __table_args__ = (Index(None, "created_at"), Index(None, "strategy"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    status: Mapped[str] = mapped_column(String(16))
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str | None] = mapped_column(String(64))
    timeframe: Mapped[str | None] = mapped_column(String(8))
    data_start: Mapped[datetime | None] = mapped_column(UtcTimestamp())
    data_end: Mapped[datetime | None] = mapped_column(UtcTimestamp())
    bars: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    settings: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    metrics: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    risk: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)  # other report keys
    # Headline metrics as columns, so runs can be sorted and filtered in SQL.
    total_return: Mapped[float | None] = mapped_column(Float)
    cagr: Mapped[float | None] = mapped_column(Float)
    sharpe: Mapped[float | None] = mapped_column(Float)
    sortino: Mapped[float | None] = mapped_column(Float)
    max_drawdown: Mapped[float | None] = mapped_column(Float)
    win_rate: Mapped[float | None] = mapped_column(Float)
    profit_factor: Mapped[float | None] = mapped_column(Float)
    trade_count: Mapped[int | None] = mapped_column(Integer)
    code_version: Mapped[str] = mapped_column(String(64))
    # Per-bar curves (times, equity, positions) as one compressed blob: see storage.runs.
    curves: Mapped[bytes | None] = mapped_column(LargeBinary)


class BacktestTradeRow(Base):
    __tablename__ = "backtest_trades"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("backtest_runs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    side: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    entry_time: Mapped[datetime] = mapped_column(UtcTimestamp())
    entry_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    exit_time: Mapped[datetime | None] = mapped_column(UtcTimestamp())
    exit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    pnl: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    trade_return: Mapped[float | None] = mapped_column(Float)
    commission: Mapped[Decimal | None] = mapped_column(ExactDecimal())


class ResearchRunRow(Base):
    """A finished optimisation or walk-forward: headline columns to list and filter, the
    whole JSON report (what ``--json`` writes, plus what the dashboard draws) in ``report``."""

    __tablename__ = "research_runs"
    __table_args__ = (Index(None, "created_at"), Index(None, "kind", "strategy"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # optimize | walk_forward
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str | None] = mapped_column(String(64))
    timeframe: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    objective: Mapped[str] = mapped_column(String(64))
    trials: Mapped[int | None] = mapped_column(Integer)
    best_params: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    best_score: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    code_version: Mapped[str] = mapped_column(String(64))

# --- live and paper trading -----------------------------------------------------------


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (Index(None, "strategy", "status"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # client order id
    venue_order_id: Mapped[str | None] = mapped_column(String(128))
    mode: Mapped[str] = mapped_column(String(16))  # backtest | paper | live
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    venue: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    order_type: Mapped[str] = mapped_column(String(16))
    time_in_force: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    limit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    stop_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    parent_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    filled_quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())


class OrderEventRow(Base):
    """Append-only audit journal: triggers reject UPDATE and DELETE (migration 0003)."""

    __tablename__ = "order_events"
    __table_args__ = (Index(None, "order_id", "id"), Index(None, "ts_event"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    ts_event: Mapped[datetime] = mapped_column(UtcTimestamp())
    ts_init: Mapped[datetime] = mapped_column(UtcTimestamp())
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    cause: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)


class FillRow(Base):
    __tablename__ = "fills"
    __table_args__ = (Index(None, "order_id"), Index(None, "ts_event"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fill_id: Mapped[str] = mapped_column(String(128), unique=True)  # idempotency key
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    price: Mapped[Decimal] = mapped_column(ExactDecimal())
    commission: Mapped[Decimal] = mapped_column(ExactDecimal())
    liquidity: Mapped[str] = mapped_column(String(8))
    ts_event: Mapped[datetime] = mapped_column(UtcTimestamp())
    ts_init: Mapped[datetime] = mapped_column(UtcTimestamp())


class PositionRow(Base):
    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("mode", "strategy", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mode: Mapped[str] = mapped_column(String(16))
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())  # signed: short < 0
    avg_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    realized_pnl: Mapped[Decimal] = mapped_column(ExactDecimal())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp())


class StrategyEventRow(Base):
    __tablename__ = "strategy_events"
    __table_args__ = (Index(None, "strategy", "ts_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts_event: Mapped[datetime] = mapped_column(UtcTimestamp())
    strategy: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)


class RiskEventRow(Base):
    __tablename__ = "risk_events"
    __table_args__ = (Index(None, "ts_event"), Index(None, "strategy", "ts_event"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts_event: Mapped[datetime] = mapped_column(UtcTimestamp())
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str | None] = mapped_column(String(64))
    client_order_id: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(16))  # accepted | resized | rejected
    reason: Mapped[str] = mapped_column(Text)
    trading_state: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
