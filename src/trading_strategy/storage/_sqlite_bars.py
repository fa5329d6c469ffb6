"""SQLite bulk paths of the bar store: executemany writes, raw-cursor reads into numpy.

Reads skip SQLAlchemy's result machinery: the sqlite3 cursor's row tuples go straight into
one structured numpy array (``np.fromiter``), which is within ~25% of the cost of merely
iterating the rows (measured ~0.8 s per million bars). Writes bind plain Python ints
and floats with one ``executemany`` inside the caller's transaction (~1.3 s per million).
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from trading_strategy.core.bars import IntArray
from trading_strategy.storage.bar_codec import ExactBars
from trading_strategy.storage.bar_columns import ROW_DTYPE, StoredColumns

__all__ = ["read", "read_ts", "write"]

_RANGE = "instrument_id = ? AND timeframe = ? AND ts >= ? AND ts <= ?"
_SELECT = f"SELECT ts, open, high, low, close, volume FROM bars WHERE {_RANGE} ORDER BY ts"
_SELECT_TS = f"SELECT ts FROM bars WHERE {_RANGE} ORDER BY ts"
_INSERT = (
    "INSERT INTO bars (instrument_id, timeframe, ts, open, high, low, close, volume, source) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The WHERE keeps an identical re-write from touching the row at all (its source included:
# a bar stays attributed to whoever stored these values first).
_UPSERT = (
    _INSERT
    + " ON CONFLICT (instrument_id, timeframe, ts) DO UPDATE SET open = excluded.open, "
    "high = excluded.high, low = excluded.low, close = excluded.close, "
    "volume = excluded.volume, source = excluded.source "
    "WHERE open IS NOT excluded.open OR high IS NOT excluded.high "
    "OR low IS NOT excluded.low OR close IS NOT excluded.close "
    "OR volume IS NOT excluded.volume"
)


def _cursor(connection: Connection) -> Any:
    return connection.connection.driver_connection.cursor()  # type: ignore[union-attr]


def read(connection: Connection, instrument_id: int, timeframe: str, lo: int, hi: int
         ) -> StoredColumns:
    cursor = _cursor(connection)
    try:
        cursor.execute(_SELECT, (instrument_id, timeframe, lo, hi))
        rows = np.fromiter(cursor, dtype=ROW_DTYPE)
    finally:
        cursor.close()
    return StoredColumns.from_records(rows)


def read_ts(connection: Connection, instrument_id: int, timeframe: str, lo: int, hi: int
            ) -> IntArray:
    cursor = _cursor(connection)
    try:
        cursor.execute(_SELECT_TS, (instrument_id, timeframe, lo, hi))
        return np.fromiter((row[0] for row in cursor), dtype=np.int64)
    finally:
        cursor.close()


def _rows(instrument_id: int, timeframe: str, bars: ExactBars, source: str | None) -> Any:
    columns = [column.tolist() for column in bars.float_columns()]
    return zip(repeat(instrument_id), repeat(timeframe), bars.ts.tolist(), *columns,
               repeat(source))


def write(connection: Connection, instrument_id: int, timeframe: str, rows: ExactBars,
          source: str | None = None) -> None:
    """Upsert new and changed bars in one ``executemany`` (caller's transaction), written
    by ``source`` (a provider's name; ``None``: a file import).

    SQLite checks a conflict with the same B-tree descent an insert needs anyway, so
    unlike PostgreSQL the upsert costs no more than a plain insert here.
    """
    cursor = _cursor(connection)
    try:
        cursor.executemany(_UPSERT, _rows(instrument_id, timeframe, rows, source))
    finally:
        cursor.close()
