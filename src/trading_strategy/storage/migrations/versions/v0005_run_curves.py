"""Backtest runs keep their per-bar curves as one compressed blob (``backtest_runs.curves``)
instead of one ``backtest_equity`` row per bar; existing runs are converted.

Equity rows hold the decimal the report printed, so ``float`` of it is the report's float
again: a converted run shows exactly what it showed before.

Revision ID: 0005_run_curves
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import sqlalchemy as sa
from alembic import op

from trading_strategy.core.bars import datetime_to_ns
from trading_strategy.storage.runs import Curves, pack_curves, unpack_curves
from trading_strategy.storage.types import ExactDecimal, UtcTimestamp

revision = "0005_run_curves"
down_revision = "0004_timescale"
branch_labels = None
depends_on = None

_runs = sa.table("backtest_runs", sa.column("id", sa.Integer()),
                 sa.column("curves", sa.LargeBinary()))
_equity = sa.table("backtest_equity", sa.column("run_id", sa.Integer()),
                   sa.column("seq", sa.Integer()), sa.column("ts", UtcTimestamp()),
                   sa.column("equity", ExactDecimal()))


def upgrade() -> None:
    op.add_column("backtest_runs", sa.Column("curves", sa.LargeBinary()))
    connection = op.get_bind()
    run_ids = connection.execute(sa.select(_runs.c.id).order_by(_runs.c.id)).scalars().all()
    for run_id in run_ids:
        rows = connection.execute(
            sa.select(_equity.c.ts, _equity.c.equity).where(_equity.c.run_id == run_id)
            .order_by(_equity.c.seq)).all()
        curves = Curves(np.array([datetime_to_ns(ts) for ts, _ in rows], dtype=np.int64),
                        np.array([float(value) for _, value in rows], dtype=np.float64))
        connection.execute(_runs.update().where(_runs.c.id == run_id)
                           .values(curves=pack_curves(curves)))
    op.drop_table("backtest_equity")


def downgrade() -> None:
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
    connection = op.get_bind()
    stored = connection.execute(sa.select(_runs.c.id, _runs.c.curves)
                                .where(_runs.c.curves.is_not(None))).all()
    # SQLite's batch mode copies backtest_runs and drops the old table, which cascades to
    # rows referencing it: the equity rows are written after it.
    with op.batch_alter_table("backtest_runs") as batch:
        batch.drop_column("curves")
    for run_id, blob in stored:
        curves = unpack_curves(blob)
        rows = [{"run_id": run_id, "seq": seq, "ts": int(ts), "equity": Decimal(repr(value))}
                for seq, (ts, value) in enumerate(zip(curves.ts.tolist(),
                                                      curves.equity.tolist(), strict=True))]
        if rows:
            connection.execute(sa.insert(_equity), rows)
