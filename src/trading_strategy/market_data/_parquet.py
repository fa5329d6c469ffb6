"""Parquet reading for the file loader: a Parquet file's OHLCV columns → ``_Columns``.

pyarrow is imported inside :func:`_read_parquet`, only when a Parquet file is read, so
loading a CSV does not pay for it. Column names are matched as in CSV
(:func:`._csv._header_layout`); Parquet has no lines, so errors name the 1-based row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from trading_strategy.core.bars import FloatArray, IntArray
from trading_strategy.core.errors import DataError
from trading_strategy.market_data._columns import _PRICES, _BadValue, _Columns
from trading_strategy.market_data._csv import (
    _header_layout,
    _is_epoch_text,
    _parse_timestamps,
    _scale_epochs,
)


def _read_parquet(path: Path, source: str) -> _Columns:
    """Read a Parquet file's OHLCV columns (pyarrow imported here, on demand)."""
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise DataError(
            "reading Parquet needs pyarrow: pip install 'trading-strategy[parquet]'",
            path=source,
        ) from None
    try:
        schema = pq.read_schema(path)
        layout = _header_layout(list(schema.names), source, None)
        names = {role: schema.names[index] for role, index in layout.items()}
        table = pq.read_table(path, columns=list(dict.fromkeys(names.values())))
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"not a readable Parquet file: {exc}", path=source) from None
    if table.num_rows == 0:
        raise DataError("no data rows", path=source)

    ts = _parquet_timestamps(pa, table.column(names["timestamp"]), names["timestamp"], source)
    values: dict[str, FloatArray] = {}
    extra = [role for role in names if role.startswith("adj_")]
    for role in (*_PRICES, "volume", *extra):
        if role not in names:
            values[role] = np.zeros(table.num_rows, dtype=np.float64)
            continue
        values[role] = _parquet_floats(pa, table.column(names[role]), names[role], source)
    return _Columns(
        ts,
        values["open"],
        values["high"],
        values["low"],
        values["close"],
        values["volume"],
        None,
        {role: values[role] for role in extra},
        names,
    )


def _first_null(column: Any, name: str, source: str) -> None:
    if column.null_count:
        mask = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_)
        raise DataError(f"row {int(np.argmax(mask)) + 1}: {name} is missing (null)", path=source)


def _parquet_floats(pa: Any, column: Any, name: str, source: str) -> FloatArray:
    _first_null(column, name, source)
    try:
        converted = column.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(
            f"column {name} is not numeric ({column.type}): {exc}", path=source
        ) from None
    # Copy: arrow-backed arrays are read-only, CSV ones are not; keep them alike.
    return np.array(converted.to_numpy(), dtype=np.float64)


def _parquet_timestamps(pa: Any, column: Any, name: str, source: str) -> IntArray:
    _first_null(column, name, source)
    kind = column.type
    try:
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            # Arrow stores aware timestamps as UTC instants and naive ones as wall time,
            # which we read as UTC: either way the integer is what we want.
            zone = getattr(kind, "tz", None)
            as_ns = column.cast(pa.timestamp("ns", tz=zone)).cast(pa.int64())
            return np.array(as_ns.to_numpy(), dtype=np.int64)
        if pa.types.is_integer(kind):
            return _scale_epochs(np.array(column.to_numpy(), dtype=np.int64))
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            text: list[str] = column.to_pylist()
            epoch = _is_epoch_text(text[0])
            raw = _parse_timestamps(text, epoch=epoch)
            return _scale_epochs(raw) if epoch else raw
    except _BadValue as bad:
        raise DataError(
            f"row {bad.index + 1}: bad timestamp {bad.value!r}: {bad.why}", path=source
        ) from None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"column {name}: {exc}", path=source) from None
    raise DataError(
        f"column {name} has type {kind}; expected a timestamp, a date, an integer epoch "
        "or ISO-8601 text",
        path=source,
    )
