"""Backtest runs with their trades and equity curve.

Revision ID: 0002_backtest_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trading_strategy.storage.types import ExactDecimal, JsonDocument, UtcTimestamp

revision = "0002_backtest_runs"
down_revision = "0001_market_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backtest_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64)),
        sa.Column("timeframe", sa.String(8)),
        sa.Column("data_start", UtcTimestamp()),
        sa.Column("data_end", UtcTimestamp()),
        sa.Column("bars", sa.Integer()),
        sa.Column("params", JsonDocument, nullable=False),
        sa.Column("settings", JsonDocument, nullable=False),
        sa.Column("metrics", JsonDocument, nullable=False),
        sa.Column("risk", JsonDocument),
        sa.Column("extra", JsonDocument),
        sa.Column("total_return", sa.Float()),
        sa.Column("cagr", sa.Float()),
        sa.Column("sharpe", sa.Float()),
        sa.Column("sortino", sa.Float()),
        sa.Column("max_drawdown", sa.Float()),
        sa.Column("win_rate", sa.Float()),
        sa.Column("profit_factor", sa.Float()),
        sa.Column("trade_count", sa.Integer()),
        sa.Column("code_version", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_runs"),
    )
    op.create_index("ix_backtest_runs_created_at", "backtest_runs", ["created_at"])
    op.create_index("ix_backtest_runs_strategy", "backtest_runs", ["strategy"])
    op.create_table(
        "backtest_trades",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("entry_time", UtcTimestamp(), nullable=False),
        sa.Column("entry_price", ExactDecimal(), nullable=False),
        sa.Column("exit_time", UtcTimestamp()),
        sa.Column("exit_price", ExactDecimal()),
        sa.Column("pnl", ExactDecimal()),
        sa.Column("trade_return", sa.Float()),
        sa.Column("commission", ExactDecimal()),
        sa.ForeignKeyConstraint(["run_id"], ["backtest_runs.id"], ondelete="CASCADE",
                                name="fk_backtest_trades_run_id_backtest_runs"),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_backtest_trades"),
    )
    op.create_table(
        "backtest_equity",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ts", UtcTimestamp(), nullable=False),
        sa.Column("equity", ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["backtest_runs.id"], ondelete="CASCADE",
                                name="fk_backtest_equity_run_id_backtest_runs"),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_backtest_equity"),
    )


def downgrade() -> None:
    op.drop_table("backtest_equity")
    op.drop_table("backtest_trades")
    op.drop_index("ix_backtest_runs_strategy", table_name="backtest_runs")
    op.drop_index("ix_backtest_runs_created_at", table_name="backtest_runs")
    op.drop_table("backtest_runs")
