"""Parquet and Arrow reading for the file loader: OHLCV columns of a table → ``_Columns``.

pyarrow is imported only when a Parquet file or an Arrow table is read, so loading a CSV
does not pay for it. :func:`_read_parquet` reads the file's columns and hands them to
:func:`_table_columns`, which an in-memory table (:func:`_read_arrow_table`) reaches
directly. Column names are matched as in CSV (:func:`._layout.header_layout`, including a
``--columns`` mapping); there are no lines, so errors name the 1-based row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from trading_strategy.core.bars import FloatArray, IntArray
from trading_strategy.core.errors import ConfigError, DataError
from trading_strategy.market_data._columns import _PRICES, _BadValue, _Columns
from trading_strategy.market_data._dates import compile_format, localize, parse_with, zone
from trading_strategy.market_data._layout import header_layout
from trading_strategy.market_data._timestamps import (
    _is_epoch_text,
    _parse_timestamps,
    _scale_epochs,
)
from trading_strategy.market_data.formats import FileFormat


def _pyarrow(source: str) -> Any:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
    except ImportError:
        raise DataError(
            "reading Parquet needs pyarrow: pip install 'trading-strategy[parquet]'",
            path=source,
        ) from None
    return pa


def _read_parquet(path: Path, source: str, fmt: FileFormat | None = None) -> _Columns:
    """Read a Parquet file's OHLCV columns (pyarrow imported here, on demand)."""
    pa = _pyarrow(source)
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    _check_table_format(fmt, source)
    try:
        schema = pq.read_schema(path)
        layout, _ = header_layout(list(schema.names), source, None, _mapping(fmt))
        names = {role: schema.names[index] for role, index in layout.items()}
        table = pq.read_table(path, columns=list(dict.fromkeys(names.values())))
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"not a readable Parquet file: {exc}", path=source) from None
    return _table_columns(pa, table, names, source, fmt)


def _read_arrow_table(table: Any, source: str, fmt: FileFormat | None = None) -> _Columns:
    """An in-memory ``pyarrow.Table`` read by the Parquet rules, without a file."""
    pa = _pyarrow(source)
    if not isinstance(table, pa.Table):
        raise ConfigError(f"{source}: expected a pyarrow.Table, got {type(table).__name__}")
    _check_table_format(fmt, source)
    layout, _ = header_layout(list(table.column_names), source, None, _mapping(fmt))
    names = {role: table.column_names[index] for role, index in layout.items()}
    return _table_columns(pa, table, names, source, fmt)


def _mapping(fmt: FileFormat | None) -> tuple[tuple[str, str], ...]:
    return () if fmt is None else fmt.columns


def _check_table_format(fmt: FileFormat | None, source: str) -> None:
    if fmt is not None and (fmt.positions or fmt.delimiter is not None):
        raise DataError("a table has named columns: --columns takes ROLE=NAME pairs here, "
                        "and --delimiter applies to CSV only", path=source)


def _table_columns(pa: Any, table: Any, names: dict[str, str], source: str,
                   fmt: FileFormat | None) -> _Columns:
    """The roles' columns of ``table`` (``names``: role → column name) as ``_Columns``."""
    if table.num_rows == 0:
        raise DataError("no data rows", path=source)
    ts = _parquet_timestamps(pa, table.column(names["timestamp"]), names["timestamp"],
                             source, fmt)
    values: dict[str, FloatArray] = {}
    extra = [role for role in names if role.startswith("adj_")]
    for role in (*_PRICES, "volume", *extra):
        if role not in names:
            values[role] = np.zeros(table.num_rows, dtype=np.float64)
            continue
        values[role] = _parquet_floats(pa, table.column(names[role]), names[role], source)
    notes: tuple[str, ...] = ()
    if fmt is not None and fmt.tz is not None:
        ts = localize(ts, zone(fmt.tz))
        notes = (f"times in {fmt.tz} converted to UTC",)
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
        notes,
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


def _parquet_timestamps(pa: Any, column: Any, name: str, source: str,
                        fmt: FileFormat | None) -> IntArray:
    _first_null(column, name, source)
    kind = column.type
    tz = None if fmt is None else fmt.tz
    try:
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            # Arrow stores aware timestamps as UTC instants and naive ones as wall time,
            # which we read as UTC: either way the integer is what we want.
            zone_name = getattr(kind, "tz", None)
            if zone_name is not None and tz is not None:
                raise DataError(f"column {name} is {kind}, with its own time zone: drop --tz",
                                path=source)
            as_ns = column.cast(pa.timestamp("ns", tz=zone_name)).cast(pa.int64())
            return np.array(as_ns.to_numpy(), dtype=np.int64)
        if pa.types.is_integer(kind):
            if tz is not None:
                raise DataError(f"column {name} holds epochs, which are UTC already: "
                                "drop --tz", path=source)
            return _scale_epochs(np.array(column.to_numpy(), dtype=np.int64))
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            text: list[str] = column.to_pylist()
            if fmt is not None and fmt.date_format is not None:
                return parse_with(text, compile_format(fmt.date_format))
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
