"""The numpy binary COPY encoder against a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import psycopg
import pytest

from trading_strategy.storage.pgcopy import (
    DecimalColumn,
    Int4Constant,
    TextConstant,
    TimestampColumn,
    iter_copy_data,
)

_UNITS = [0, 1, -1, 9999, 10000, -123456789, 10**14 + 7, 5 * 10**14]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("scale", [0, 1, 2, 3, 4, 5, 8])
def test_decimals_and_timestamps_round_trip(pg_database: str, scale: int) -> None:
    units = np.array(_UNITS, dtype=np.int64)
    ts = np.array([0, -86_400_000_000_000, 1_700_000_000_123_456_000, 1, 2, 3, 4, 5],
                  dtype=np.int64)
    fields = [Int4Constant(7), TextConstant("15m"), TimestampColumn(ts),
              DecimalColumn(units, scale),
              DecimalColumn(units // 10, np.arange(len(units), dtype=np.int64) % 9)]
    dsn = pg_database.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE t (i int, tf text, ts timestamptz, a numeric, "
                       "b numeric)")
        with cursor.copy("COPY t FROM STDIN (FORMAT binary)") as copy:
            for piece in iter_copy_data(fields, len(units), chunk_rows=3):
                copy.write(piece)
        cursor.execute("SELECT i, tf, ts, a, b FROM t")
        rows = cursor.fetchall()
    per_row = np.arange(len(units)) % 9
    for row, u, t, s in zip(rows, _UNITS, ts.tolist(), per_row.tolist(), strict=True):
        assert row[:2] == (7, "15m")
        assert row[2] == _EPOCH + timedelta(microseconds=t // 1000)
        assert row[3] == Decimal(u).scaleb(-scale)
        assert row[4] == Decimal(u // 10).scaleb(-s)


def test_values_beyond_int64_are_refused() -> None:
    with pytest.raises(OverflowError):
        list(iter_copy_data([DecimalColumn(np.array([2**62], dtype=np.int64), 1)], 1))


def test_a_killed_copy_leaves_only_the_error(
        pg_database: str, kit: object, caplog: pytest.LogCaptureFixture) -> None:
    """Regression: psycopg's "error ignored terminating <psycopg.Copy [BAD]>" reached stderr
    after the server ended the connection during an import's COPY."""
    import logging
    import threading
    import time

    from trading_strategy.core.errors import TradingStrategyError
    from trading_strategy.storage import Store, make_engine

    bars = kit.random_bars(1_000_000, timeframe="1m", symbol="KILLED")  # type: ignore[attr-defined]
    plain_url = pg_database.replace("postgresql+psycopg", "postgresql")
    killed = threading.Event()

    def kill_the_copy() -> None:
        # Waits until the import's COPY is streaming, then ends that backend.
        with psycopg.connect(plain_url, autocommit=True) as admin:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not killed.is_set():
                row = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                    "datname = current_database() AND pid <> pg_backend_pid() AND "
                    "query LIKE 'COPY bars %%' AND state = 'active'").fetchone()
                if row is not None and row[0]:
                    killed.set()
                time.sleep(0.005)

    engine = make_engine(pg_database)
    killer = threading.Thread(target=kill_the_copy)
    caplog.set_level(logging.WARNING)
    try:
        killer.start()
        with pytest.raises(TradingStrategyError):
            Store(engine).bars.write_bars(bars.instrument, "1m", bars)
    finally:
        killed.set()
        killer.join()
        engine.dispose()
    assert not [r for r in caplog.records if "error ignored terminating" in r.getMessage()]
    # Nothing of the killed transaction is visible.
    with psycopg.connect(plain_url) as connection:
        assert connection.execute(
            "SELECT count(*) FROM instruments WHERE symbol = 'KILLED'").fetchone() == (0,)
