"""TimescaleDB set-up, used by migration 0004 only when the server offers the extension.

Kept apart from everything else on purpose: the repositories issue the same SQL with or
without TimescaleDB, so plain PostgreSQL (what CI and these machines run) stays the fully
tested path. What TimescaleDB adds:

* ``bars`` and ``order_events`` become hypertables (chunked by time);
* bars older than a configurable age are compressed, segmented by series;
* continuous aggregates ``bars_1h_from_1m`` and ``bars_1d_from_1h`` keep 1m→1h and 1h→1d
  OHLCV rolled up, refreshed by policy, for dashboards and ad-hoc SQL.

Hypertables require every unique index to contain the time column, so the primary key of
``order_events`` becomes ``(id, ts_event)`` here (``bars`` already has ``ts`` in its key).
The continuous aggregates are created ``WITH NO DATA`` because TimescaleDB refuses to
materialize inside a transaction block, and migrations run in one; the refresh policy
fills them.
"""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = ["compress_after_setting", "disable", "enable", "is_available", "is_enabled"]

COMPRESS_AFTER_ENV = "TRADING_STRATEGY_TIMESCALE_COMPRESS_AFTER"
_DEFAULT_COMPRESS_AFTER = "30 days"
_AGGREGATES = (
    # (view, source timeframe, bucket, refresh start offset, refresh end offset, schedule)
    ("bars_1h_from_1m", "1m", "1 hour", "3 days", "1 hour", "30 minutes"),
    ("bars_1d_from_1h", "1h", "1 day", "30 days", "1 day", "1 hour"),
)


def compress_after_setting() -> str:
    return os.environ.get(COMPRESS_AFTER_ENV, _DEFAULT_COMPRESS_AFTER)


def is_available(connection: Connection) -> bool:
    """Whether the server can load TimescaleDB (``pg_available_extensions``)."""
    row = connection.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).first()
    return row is not None


def is_enabled(connection: Connection) -> bool:
    row = connection.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    ).first()
    return row is not None


def enable(connection: Connection, *, compress_after: str) -> None:
    run = connection.exec_driver_sql
    run("CREATE EXTENSION IF NOT EXISTS timescaledb")
    run("DROP INDEX IF EXISTS ix_bars_ts_brin")  # chunks carry their own time index
    run("SELECT create_hypertable('bars', 'ts', chunk_time_interval => INTERVAL '7 days', "
        "migrate_data => true, if_not_exists => true)")
    run("ALTER TABLE order_events DROP CONSTRAINT pk_order_events")
    run("ALTER TABLE order_events ADD CONSTRAINT pk_order_events PRIMARY KEY (id, ts_event)")
    run("SELECT create_hypertable('order_events', 'ts_event', "
        "chunk_time_interval => INTERVAL '30 days', migrate_data => true, "
        "if_not_exists => true)")
    run("ALTER TABLE bars SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'instrument_id, timeframe', "
        "timescaledb.compress_orderby = 'ts')")
    connection.execute(
        text("SELECT add_compression_policy('bars', CAST(:age AS INTERVAL), "
             "if_not_exists => true)"),
        {"age": compress_after},
    )
    for view, source, bucket, start, end, schedule in _AGGREGATES:
        run(f"""
            CREATE MATERIALIZED VIEW {view} WITH (timescaledb.continuous) AS
            SELECT instrument_id,
                   time_bucket(INTERVAL '{bucket}', ts) AS ts,
                   first(open, ts) AS open, max(high) AS high, min(low) AS low,
                   last(close, ts) AS close, sum(volume) AS volume
            FROM bars WHERE timeframe = '{source}'
            GROUP BY instrument_id, time_bucket(INTERVAL '{bucket}', ts)
            WITH NO DATA""")
        run(f"SELECT add_continuous_aggregate_policy('{view}', "
            f"start_offset => INTERVAL '{start}', end_offset => INTERVAL '{end}', "
            f"schedule_interval => INTERVAL '{schedule}')")


def disable(connection: Connection) -> None:
    """Undo what can be undone: aggregates and policies. Hypertables stay hypertables."""
    run = connection.exec_driver_sql
    for view, *_ in _AGGREGATES:
        run(f"DROP MATERIALIZED VIEW IF EXISTS {view}")
    run("SELECT remove_compression_policy('bars', if_exists => true)")
