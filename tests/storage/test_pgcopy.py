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
