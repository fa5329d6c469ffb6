"""Bars record their source: the provider whose values a stored bar holds (``binance``,
``coinbase``...), or NULL for bars imported from files and those stored before this column.

Nullable and without a default, so adding it rewrites no row (PostgreSQL and TimescaleDB
hypertables, compressed chunks included, take such a column as a catalog change only).

Revision ID: 0006_bar_source
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_bar_source"
down_revision = "0005_run_curves"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bars", sa.Column("source", sa.String(32), nullable=True))


def downgrade() -> None:
    # SQLite drops a column by copying the table (batch mode); bars is WITHOUT ROWID there,
    # which the copy keeps because it reflects the table's definition
    with op.batch_alter_table("bars") as batch:
        batch.drop_column("source")
