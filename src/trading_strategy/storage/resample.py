"""OHLCV resampling in SQL: one query shape for both engines, only the bucket differs.

A bucket is ``[origin + k * step, origin + (k + 1) * step)`` in UTC, with the Unix epoch
as origin (so hours and days align to UTC midnight), except weeks, which start on Monday
1970-01-05. The aggregate per bucket: open of the first bar, highest high, lowest low,
close of the last bar, summed volume. First and last bars are found as ``min(ts)`` and
``max(ts)`` of the bucket and joined back by primary key, which works on every engine
(PostgreSQL has no ``first()`` aggregate without TimescaleDB). Partial buckets at the ends
of the range are kept: they hold the bars that exist.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection

from trading_strategy.core.bars import datetime_to_ns, ns_to_datetime
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.storage.bar_columns import StoredColumns
from trading_strategy.storage.engine import is_postgresql

__all__ = ["bucket_origin_ns", "check_resample", "resample_columns"]

_MONDAY_NS = 4 * 86_400 * 1_000_000_000  # 1970-01-05T00:00:00Z
_US = 1000

_QUERY = """
WITH source AS (
    SELECT ts, high, low, volume, {bucket} AS bucket
    FROM bars
    WHERE instrument_id = :iid AND timeframe = :tf AND ts >= :lo AND ts <= :hi
), buckets AS (
    SELECT bucket, min(ts) AS first_ts, max(ts) AS last_ts, max(high) AS high,
           min(low) AS low, sum(volume) AS volume
    FROM source GROUP BY bucket
)
SELECT {bucket_out}, {f}(o.open), {f}(b.high), {f}(b.low), {f}(c.close), {f}(b.volume)
FROM buckets AS b
JOIN bars AS o ON o.instrument_id = :iid AND o.timeframe = :tf AND o.ts = b.first_ts
JOIN bars AS c ON c.instrument_id = :iid AND c.timeframe = :tf AND c.ts = b.last_ts
ORDER BY b.bucket
"""
# SQLite: integer ns arithmetic. ((x % m) + m) % m is a floor modulo: SQLite's % truncates
# toward zero, which would misplace bars before the origin.
_SQLITE = _QUERY.format(
    bucket="ts - (((ts - :origin) % :step) + :step) % :step",
    bucket_out="b.bucket",
    f="",
)
_POSTGRES = _QUERY.format(
    bucket="date_bin(CAST(:step AS interval), ts, CAST(:origin AS timestamptz))",
    # int8 microseconds since the epoch, computed without a float round trip.
    bucket_out="(EXTRACT(epoch FROM b.bucket - TIMESTAMPTZ '1970-01-01 00:00:00+00') "
    "* 1000000)::int8",
    f="float8",
)


def bucket_origin_ns(timeframe: Timeframe) -> int:
    return _MONDAY_NS if timeframe.unit == "w" else 0


def check_resample(source: Timeframe, target: Timeframe) -> None:
    if target.nanoseconds <= source.nanoseconds or target.nanoseconds % source.nanoseconds:
        raise ConfigError(
            f"cannot resample {source} bars to {target}: the target must be a whole "
            f"multiple of {source}, larger than it (e.g. 1m -> 5m, 1h, 1d)"
        )


def resample_columns(connection: Connection, instrument_id: int, source: Timeframe,
                     target: Timeframe, lo_ns: int, hi_ns: int) -> StoredColumns:
    origin = bucket_origin_ns(target)
    params: dict[str, object] = {"iid": instrument_id, "tf": str(source)}
    if is_postgresql(connection):
        seconds = target.nanoseconds // 1_000_000_000
        params |= {
            "step": f"{seconds} seconds",
            "origin": ns_to_datetime(origin),
            "lo": _clamp(lo_ns),
            "hi": _clamp(hi_ns),
        }
        rows = connection.execute(text(_POSTGRES), params).all()
        scale = _US
    else:
        params |= {"step": target.nanoseconds, "origin": origin, "lo": lo_ns, "hi": hi_ns}
        rows = connection.execute(text(_SQLITE), params).all()
        scale = 1
    if not rows:
        return StoredColumns.empty()
    ts, o, h, lo, c, v = zip(*rows, strict=True)
    return StoredColumns(
        np.asarray(ts, dtype=np.int64) * scale,
        *(np.asarray(column, dtype=np.float64) for column in (o, h, lo, c, v)),
    )


def _clamp(ns: int) -> datetime:
    """A datetime for a bound; unbounded ends become the datetime range limits."""
    low, high = datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC)
    if ns <= datetime_to_ns(low):
        return low
    if ns >= datetime_to_ns(high):
        return high
    return ns_to_datetime(ns)
