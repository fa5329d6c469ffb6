"""PostgreSQL bulk paths of the bar store (psycopg 3).

Writes: new bars are streamed with binary ``COPY`` straight into ``bars`` (NUMERIC built
by ``pgcopy``); changed bars go through a temporary table and
``INSERT ... ON CONFLICT DO UPDATE``. Measured on 1M rows: COPY into the table ~1.3 s;
the same rows through ``ON CONFLICT`` ~2.5 s, so only the (few) changed rows pay for it.
The caller holds a per-instrument advisory lock, so no other writer can add the "new"
rows between our diff and our COPY.

Reads: psycopg hands COPY TO data over one row per call (~0.5 s of Python per million
rows), so instead the server packs each row into fixed-width binary
(``timestamptz_send(ts) || float8send(open::float8) ...``) and ``string_agg`` returns
one ``bytea`` per chunk of up to a million rows, which numpy views without parsing.
Large ranges are read by two connections in parallel, each on half of the time range,
sharing one exported snapshot so the halves are consistent even while an import
commits (measured: ~0.85 s single, ~0.5 s parallel for 1M bars on 2 cores).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection, Engine

from trading_strategy.core.bars import IntArray, datetime_to_ns, ns_to_datetime
from trading_strategy.storage.bar_codec import ExactBars
from trading_strategy.storage.bar_columns import StoredColumns
from trading_strategy.storage.pgcopy import (
    PG_EPOCH_NS,
    DecimalColumn,
    Int4Constant,
    TextConstant,
    TimestampColumn,
    iter_copy_data,
)

__all__ = ["lock_series", "read", "read_parallel", "read_ts", "write"]

_LOCK_NAMESPACE = 7_310_002  # first key of pg_advisory_xact_lock(int, int): bar series
_CHUNK_ROWS = 1_000_000  # ~48 MB of bytea per round trip
_PARALLEL_MIN_ROWS = 200_000
_US = 1000
_PG_EPOCH_US = PG_EPOCH_NS // _US
_WIRE = np.dtype([("ts", ">i8"), ("open", ">f8"), ("high", ">f8"), ("low", ">f8"),
                  ("close", ">f8"), ("volume", ">f8")])
_RANGE = ("instrument_id = %(iid)s AND timeframe = %(tf)s "
          "AND ts >= %(lo)s AND ts <= %(hi)s")
_PACKED = (
    "timestamptz_send(ts) || float8send(open::float8) || float8send(high::float8) "
    "|| float8send(low::float8) || float8send(close::float8) || float8send(volume::float8)"
)
# The outer aggregate consumes the subquery in its ORDER BY order; the reader still
# checks the order (StoredColumns.sorted) rather than trust a planner detail.
_CHUNK_SQL = (f"SELECT string_agg(packed, ''::bytea), count(*) FROM (SELECT {_PACKED} AS packed "
              f"FROM bars WHERE {_RANGE} ORDER BY ts LIMIT %(limit)s) AS chunk")
_TS_SQL = (f"SELECT string_agg(timestamptz_send(ts), ''::bytea) FROM (SELECT ts FROM bars "
           f"WHERE {_RANGE} ORDER BY ts) AS chunk")
_BOUNDS_SQL = f"SELECT min(ts), max(ts) FROM bars WHERE {_RANGE}"
_COLUMNS = "instrument_id, timeframe, ts, open, high, low, close, volume"
_SOURCED = f"{_COLUMNS}, source"
# a changed bar takes the source of its new values (NULL from an import)
_UPSERT_SQL = (
    f"INSERT INTO bars ({_SOURCED}) SELECT {_SOURCED} FROM bars_incoming "
    "ON CONFLICT (instrument_id, timeframe, ts) DO UPDATE SET open = EXCLUDED.open, "
    "high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, "
    "volume = EXCLUDED.volume, source = EXCLUDED.source "
    "WHERE (bars.open, bars.high, bars.low, bars.close, bars.volume) "
    "IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, "
    "EXCLUDED.volume)"
)
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9]+)?$")


def _driver(connection: Connection) -> Any:
    return connection.connection.driver_connection


def _params(instrument_id: int, timeframe: str, lo_ns: int, hi_ns: int) -> dict[str, Any]:
    # timestamptz has microseconds: round the bounds inward so the range stays inclusive.
    return {
        "iid": instrument_id,
        "tf": timeframe,
        "lo": ns_to_datetime(-(-lo_ns // _US) * _US),
        "hi": ns_to_datetime(hi_ns // _US * _US),
    }


def lock_series(connection: Connection, instrument_id: int) -> None:
    """Serialize writers of one instrument until the transaction ends."""
    connection.exec_driver_sql(
        "SELECT pg_advisory_xact_lock(%(ns)s, %(iid)s)",
        {"ns": _LOCK_NAMESPACE, "iid": instrument_id},
    )


def read(connection: Connection, instrument_id: int, timeframe: str, lo_ns: int, hi_ns: int
         ) -> StoredColumns:
    """Bars with ``lo_ns <= ts <= hi_ns`` on this connection, chunk by chunk."""
    params = _params(instrument_id, timeframe, lo_ns, hi_ns) | {"limit": _CHUNK_ROWS}
    parts: list[StoredColumns] = []
    with _driver(connection).cursor(binary=True) as cursor:
        while True:
            cursor.execute(_CHUNK_SQL, params)
            blob, count = cursor.fetchone()
            if not count:
                break
            wire = np.frombuffer(blob, dtype=_WIRE)
            parts.append(StoredColumns(
                (wire["ts"].astype(np.int64) + _PG_EPOCH_US) * _US,
                *(wire[name].astype(np.float64) for name in ("open", "high", "low", "close",
                                                            "volume")),
            ))
            if count < _CHUNK_ROWS:
                break
            params["lo"] = ns_to_datetime(int(parts[-1].ts[-1]) + _US)
    return StoredColumns.concat(parts).sorted()


def read_ts(connection: Connection, instrument_id: int, timeframe: str, lo_ns: int, hi_ns: int
            ) -> IntArray:
    with _driver(connection).cursor(binary=True) as cursor:
        cursor.execute(_TS_SQL, _params(instrument_id, timeframe, lo_ns, hi_ns))
        (blob,) = cursor.fetchone()
    if blob is None:
        return np.empty(0, dtype=np.int64)
    ts: IntArray = (np.frombuffer(blob, dtype=">i8").astype(np.int64) + _PG_EPOCH_US) * _US
    return np.sort(ts)


def read_parallel(engine: Engine, instrument_id: int, timeframe: str, step_ns: int,
                  lo_ns: int, hi_ns: int) -> StoredColumns:
    """Like :func:`read`, on two connections when the range may hold many bars."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            with _driver(connection).cursor() as cursor:
                cursor.execute(_BOUNDS_SQL, _params(instrument_id, timeframe, lo_ns, hi_ns))
                first, last = cursor.fetchone()
            if first is None:
                return StoredColumns.empty()
            first_ns, last_ns = _ns(first), _ns(last)
            if (last_ns - first_ns) // step_ns + 1 < _PARALLEL_MIN_ROWS:
                return read(connection, instrument_id, timeframe, first_ns, last_ns)
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            middle = first_ns + (last_ns - first_ns) // 2 // _US * _US
            with ThreadPoolExecutor(max_workers=1) as pool:
                later = pool.submit(_read_in_snapshot, engine, str(snapshot), instrument_id,
                                    timeframe, middle + _US, last_ns)
                early = read(connection, instrument_id, timeframe, first_ns, middle)
                return StoredColumns.concat([early, later.result()])


def _ns(moment: Any) -> int:
    return datetime_to_ns(moment)


def _read_in_snapshot(engine: Engine, snapshot: str, instrument_id: int, timeframe: str,
                      lo_ns: int, hi_ns: int) -> StoredColumns:
    if not _SNAPSHOT_ID.match(snapshot):
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            # SET TRANSACTION SNAPSHOT takes no parameters; the id was validated above.
            connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return read(connection, instrument_id, timeframe, lo_ns, hi_ns)


def _copy_fields(instrument_id: int, timeframe: str, bars: ExactBars, source: str | None
                 ) -> list[Any]:
    grid = bars.grid
    # no source: the column is left out of the COPY and stays NULL
    sourced = [] if source is None else [TextConstant(source)]
    return [
        Int4Constant(instrument_id),
        TextConstant(timeframe),
        TimestampColumn(bars.ts),
        *(DecimalColumn(grid.units(column), grid.scale) for column in bars.prices()),
        DecimalColumn(bars.volume, bars.volume_scale),
        *sourced,
    ]


class _CopyTeardownFilter(logging.Filter):
    """Drops psycopg's "error ignored terminating <psycopg.Copy [BAD]>" warning.

    When the connection dies during a COPY (server restart, pg_terminate_backend), psycopg
    raises the real error and also logs that ending the COPY failed too, which reaches
    stderr next to our one-line error. The real error still propagates (and is translated
    by the caller), so the second message adds nothing.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored terminating")


@contextmanager
def _quiet_copy_teardown() -> Iterator[None]:
    logger = logging.getLogger("psycopg")  # the logger psycopg's Copy writes to
    teardown = _CopyTeardownFilter()
    logger.addFilter(teardown)
    try:
        yield
    finally:
        logger.removeFilter(teardown)


def _copy(connection: Connection, table: str, instrument_id: int, timeframe: str,
          bars: ExactBars, source: str | None) -> None:
    fields = _copy_fields(instrument_id, timeframe, bars, source)
    columns = _COLUMNS if source is None else _SOURCED
    with _quiet_copy_teardown(), _driver(connection).cursor() as cursor, cursor.copy(
        f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
    ) as copy:
        for piece in iter_copy_data(fields, len(bars)):
            copy.write(piece)


def write(connection: Connection, instrument_id: int, timeframe: str, new: ExactBars,
          changed: ExactBars, source: str | None = None) -> None:
    """COPY ``new`` bars straight in; upsert ``changed`` ones through a temporary table;
    both written by ``source`` (a provider's name; ``None``: a file import).

    The caller holds :func:`lock_series`, so the "new" bars are still absent.
    """
    if len(changed):
        connection.exec_driver_sql(
            "CREATE TEMPORARY TABLE bars_incoming (LIKE bars) ON COMMIT DROP"
        )
        _copy(connection, "bars_incoming", instrument_id, timeframe, changed, source)
        connection.exec_driver_sql(_UPSERT_SQL)
        connection.exec_driver_sql("DROP TABLE bars_incoming")
    if len(new):
        _copy(connection, "bars", instrument_id, timeframe, new, source)
