"""Finished optimisations and walk-forwards (``research_runs``), so the dashboard can list
them: headline columns plus the whole JSON report.

Revision ID: 0007_research_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trading_strategy.storage.types import JsonDocument, UtcTimestamp

revision = "0007_research_runs"
down_revision = "0006_bar_source"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "research_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64)),
        sa.Column("timeframe", sa.String(8)),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
        sa.Column("objective", sa.String(64), nullable=False),
        sa.Column("trials", sa.Integer()),
        sa.Column("best_params", JsonDocument),
        sa.Column("best_score", sa.Float()),
        sa.Column("verdict", sa.Text()),
        sa.Column("report", JsonDocument, nullable=False),
        sa.Column("code_version", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_research_runs"),
    )
    op.create_index("ix_research_runs_created_at", "research_runs", ["created_at"])
    op.create_index("ix_research_runs_kind_strategy", "research_runs", ["kind", "strategy"])


def downgrade() -> None:
    op.drop_index("ix_research_runs_kind_strategy", table_name="research_runs")
    op.drop_index("ix_research_runs_created_at", table_name="research_runs")
    op.drop_table("research_runs")
