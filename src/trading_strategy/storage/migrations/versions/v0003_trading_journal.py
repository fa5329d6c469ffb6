"""Orders, the append-only order event journal, fills, positions, strategy and risk events.

``order_events`` is an audit journal: a trigger rejects UPDATE and DELETE on both engines,
so a bug (or a hand-written query) cannot rewrite history.

Revision ID: 0003_trading_journal
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trading_strategy.storage.types import ExactDecimal, JsonDocument, UtcTimestamp

revision = "0003_trading_journal"
down_revision = "0002_backtest_runs"
branch_labels = None
depends_on = None

_PG_APPEND_ONLY = """
CREATE FUNCTION order_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'order_events is append-only: % is not allowed', TG_OP;
END
$$;
CREATE TRIGGER order_events_append_only BEFORE UPDATE OR DELETE ON order_events
    FOR EACH ROW EXECUTE FUNCTION order_events_append_only();
"""
_SQLITE_APPEND_ONLY = [
    f"""CREATE TRIGGER order_events_no_{op_name.lower()} BEFORE {op_name} ON order_events
    BEGIN SELECT RAISE(ABORT, 'order_events is append-only: {op_name} is not allowed'); END"""
    for op_name in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("venue_order_id", sa.String(128)),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("time_in_force", sa.String(8), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("limit_price", ExactDecimal()),
        sa.Column("stop_price", ExactDecimal()),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("parent_id", sa.String(64)),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("filled_quantity", ExactDecimal(), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("updated_at", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
    )
    op.create_index("ix_orders_strategy_status", "orders", ["strategy", "status"])
    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("ts_event", UtcTimestamp(), nullable=False),
        sa.Column("ts_init", UtcTimestamp(), nullable=False),
        sa.Column("from_status", sa.String(24)),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("cause", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("detail", JsonDocument),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name="fk_order_events_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_order_events"),
    )
    op.create_index("ix_order_events_order_id_id", "order_events", ["order_id", "id"])
    op.create_index("ix_order_events_ts_event", "order_events", ["ts_event"])
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("fill_id", sa.String(128), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("commission", ExactDecimal(), nullable=False),
        sa.Column("liquidity", sa.String(8), nullable=False),
        sa.Column("ts_event", UtcTimestamp(), nullable=False),
        sa.Column("ts_init", UtcTimestamp(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_fills_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_fills"),
        sa.UniqueConstraint("fill_id", name="uq_fills_fill_id"),
    )
    op.create_index("ix_fills_order_id", "fills", ["order_id"])
    op.create_index("ix_fills_ts_event", "fills", ["ts_event"])
    op.create_table(
        "positions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("avg_price", ExactDecimal(), nullable=False),
        sa.Column("realized_pnl", ExactDecimal(), nullable=False),
        sa.Column("updated_at", UtcTimestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_positions"),
        sa.UniqueConstraint("mode", "strategy", "symbol",
                            name="uq_positions_mode_strategy_symbol"),
    )
    op.create_table(
        "strategy_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ts_event", UtcTimestamp(), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(24)),
        sa.Column("to_state", sa.String(24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", JsonDocument),
        sa.PrimaryKeyConstraint("id", name="pk_strategy_events"),
    )
    op.create_index("ix_strategy_events_strategy_ts_event", "strategy_events",
                    ["strategy", "ts_event"])
    op.create_table(
        "risk_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ts_event", UtcTimestamp(), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64)),
        sa.Column("client_order_id", sa.String(64)),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("trading_state", sa.String(16)),
        sa.Column("detail", JsonDocument),
        sa.PrimaryKeyConstraint("id", name="pk_risk_events"),
    )
    op.create_index("ix_risk_events_ts_event", "risk_events", ["ts_event"])
    op.create_index("ix_risk_events_strategy_ts_event", "risk_events", ["strategy", "ts_event"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    else:
        for statement in _SQLITE_APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    # Dropping a table drops its triggers on both engines.
    for table in ("risk_events", "strategy_events", "positions", "fills", "order_events",
                  "orders"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS order_events_append_only()")
