"""OHLCV resampling in SQL: one query shape for both engines, only the bucket differs.

A bucket is ``[origin + k * step, origin + (k + 1) * step)`` in UTC, with the Unix epoch as
origin (so hours and days align to UTC midnight), except weeks, which start on Monday
1970-01-05. Months have no fixed length: their bucket is the calendar month (UTC) counted
from 1970-01, in groups of ``count`` months (quarters are ``3mo``: Jan, Apr, Jul, Oct), and
a monthly bar is keyed at 00:00 UTC on the first of its month. The aggregate per bucket:
open of the first bar, highest high, lowest low, close of the last bar, summed volume.
First and last bars are found as ``min(ts)`` and ``max(ts)`` of the bucket and joined back
by primary key, which works on every engine (PostgreSQL has no ``first()`` aggregate
without TimescaleDB). Partial buckets at the ends of the range are kept: they hold the bars
that exist.
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
# Months since 1970-01 of each bar, floored to a multiple of :step months. SQLite: the bar's
# whole seconds (floored, for bars before 1970) through strftime.
_SQLITE_SECONDS = "(ts - (((ts % 1000000000) + 1000000000) % 1000000000)) / 1000000000"
_SQLITE_MONTH = (
    f"((CAST(strftime('%Y', {_SQLITE_SECONDS}, 'unixepoch') AS INTEGER) - 1970) * 12 "
    f"+ CAST(strftime('%m', {_SQLITE_SECONDS}, 'unixepoch') AS INTEGER) - 1)"
)
_SQLITE_MONTHS = _QUERY.format(
    bucket=f"{_SQLITE_MONTH} - ((({_SQLITE_MONTH} % :step) + :step) % :step)",
    bucket_out="b.bucket",
    f="",
)
_PG_MONTH = ("(CAST(EXTRACT(year FROM ts AT TIME ZONE 'UTC') AS int8) - 1970) * 12 "
             "+ CAST(EXTRACT(month FROM ts AT TIME ZONE 'UTC') AS int8) - 1")
_POSTGRES_MONTHS = _QUERY.format(
    bucket=f"({_PG_MONTH}) - mod(mod({_PG_MONTH}, CAST(:step AS int8)) + :step, :step)",
    bucket_out="b.bucket",
    f="float8",
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
    """Refuse a target that does not group whole source bars (weeks do not fill months)."""
    if target.is_monthly:
        day = Timeframe(1, "d").nanoseconds
        if source.is_monthly:
            fits = target.months > source.months and target.months % source.months == 0
        else:
            fits = source.nanoseconds <= day and day % source.nanoseconds == 0
        if not fits:
            raise ConfigError(
                f"cannot resample {source} bars to {target}: months are made of days, so "
                f"the source must be 1d or a part of a day (or whole months dividing {target})"
            )
        return
    if source.is_monthly or target.nanoseconds <= source.nanoseconds \
            or target.nanoseconds % source.nanoseconds:
        raise ConfigError(
            f"cannot resample {source} bars to {target}: the target must be a whole "
            f"multiple of {source}, larger than it (e.g. 1m -> 5m, 1h, 1d; 1d -> 1w, 1mo)"
        )


def resample_columns(connection: Connection, instrument_id: int, source: Timeframe,
                     target: Timeframe, lo_ns: int, hi_ns: int) -> StoredColumns:
    origin = bucket_origin_ns(target)
    params: dict[str, object] = {"iid": instrument_id, "tf": str(source)}
    postgres = is_postgresql(connection)
    if target.is_monthly:
        params |= {"step": target.months, "lo": _clamp(lo_ns) if postgres else lo_ns,
                   "hi": _clamp(hi_ns) if postgres else hi_ns}
        rows = connection.execute(text(_POSTGRES_MONTHS if postgres else _SQLITE_MONTHS),
                                  params).all()
    elif postgres:
        seconds = target.nanoseconds // 1_000_000_000
        params |= {
            "step": f"{seconds} seconds",
            "origin": ns_to_datetime(origin),
            "lo": _clamp(lo_ns),
            "hi": _clamp(hi_ns),
        }
        rows = connection.execute(text(_POSTGRES), params).all()
    else:
        params |= {"step": target.nanoseconds, "origin": origin, "lo": lo_ns, "hi": hi_ns}
        rows = connection.execute(text(_SQLITE), params).all()
    if not rows:
        return StoredColumns.empty()
    ts, o, h, lo, c, v = zip(*rows, strict=True)
    keys = np.asarray(ts, dtype=np.int64)
    if target.is_monthly:
        stamps = keys.astype("datetime64[M]").astype("datetime64[ns]").astype(np.int64)
    else:
        stamps = keys * (_US if postgres else 1)
    return StoredColumns(
        stamps,
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
