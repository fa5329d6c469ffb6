"""TimescaleDB, when the server offers it: hypertables, compression, continuous aggregates.

A no-op on SQLite and on PostgreSQL without the extension (the plain tables and indexes
of 0001 and 0003 serve the same queries). All TimescaleDB SQL lives in
``storage/timescale.py``. The compression age comes from the environment variable
``TRADING_STRATEGY_TIMESCALE_COMPRESS_AFTER`` (an interval, default ``30 days``).

Revision ID: 0004_timescale
"""

from __future__ import annotations

from alembic import op

from trading_strategy.storage import timescale

revision = "0004_timescale"
down_revision = "0003_trading_journal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql" and timescale.is_available(connection):
        timescale.enable(connection, compress_after=timescale.compress_after_setting())


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql" and timescale.is_enabled(connection):
        timescale.disable(connection)
