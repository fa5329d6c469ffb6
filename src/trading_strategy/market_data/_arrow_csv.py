"""The fast path of the CSV reader: pyarrow's multi-threaded parser, where it reads as ours.

:func:`read_csv_fast` reads a file the way :mod:`._csv` does — the same header rules
(:func:`._csv._read_head`), the same timestamp decision (:class:`._timestamps._Stamps`), the
same float64 values bit for bit — about five times faster on a large file. It answers only
for files it can judge exactly and returns ``None`` for anything else: then the strict reader
reads the file and names the line and the fix. So it never raises for a bad file, and it
refuses (returns ``None``) when:

* pyarrow is not installed, or the file is small (below :data:`MIN_BYTES`, importing
  pyarrow costs more than it saves), unreadable, or not UTF-8;
* the data has quotes, NUL bytes, bare carriage returns, blank lines or ragged rows (the
  strict reader's line numbers and messages depend on them), or commas with another
  delimiter (decimal commas);
* a number or timestamp is not read by pyarrow, or a number is not finite (NaN spellings
  such as ``nan(1)`` that ``float()`` refuses read as NaN in pyarrow; the row rules reject
  non-finite prices anyway, with the strict reader's line);
* timestamps are ISO text outside the plain shapes below, or integer epochs with a sign
  (``0x10`` would be an integer to pyarrow, not to ``int()``).

Why the values are the same: pyarrow's float parser rounds correctly, as ``float()`` does
(every finite value it accepts equals ``float()``'s, checked by the property tests); ISO
text is first matched against :data:`_ISO` (dates, minutes, seconds, up to six fraction
digits, ``Z`` or ``±HH:MM``), a shape on which pyarrow's cast and ``datetime.fromisoformat``
agree or pyarrow refuses; epochs are pure digits; other date formats are parsed by the
strict reader's own code (:mod:`._dates`), given the column as strings.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from trading_strategy.core.bars import FloatArray, IntArray
from trading_strategy.core.errors import ConfigError, DataError
from trading_strategy.market_data._columns import _PRICES, _BadValue, _Columns
from trading_strategy.market_data._csv import _CHUNK_ROWS, _peek_delimiter, _read_head
from trading_strategy.market_data._timestamps import _Stamps
from trading_strategy.market_data.formats import FileFormat

#: Files smaller than this are left to the strict reader unless pyarrow is already imported:
#: its import (about 70 ms) is more than the strict reader spends on some 25,000 rows.
MIN_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
# ISO-8601 shapes read alike by pyarrow's cast and datetime.fromisoformat (naive or zoned
# as the first value is; the cast refuses a mix). More than six fraction digits are not
# here: fromisoformat truncates them to microseconds, pyarrow keeps nanoseconds.
_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
_ISO_NAIVE = rf"^{_DATE}(?:{_TIME})?$"
_ISO = rf"^{_DATE}(?:{_TIME}(?:Z|[+-]\d{{2}}:\d{{2}})?)?$"
_TEXT_ROLES = ("timestamp", "time", "time_candidate")


def read_csv_fast(path: Path, source: str, fmt: FileFormat) -> _Columns | None:
    """The file's columns as :func:`._csv._read_csv_file` reads them, or ``None`` when
    this path cannot judge the file exactly (see the module docstring)."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size < MIN_BYTES and "pyarrow" not in sys.modules:
        return None
    try:
        import pyarrow  # type: ignore[import-untyped]
    except ImportError:
        return None
    data = _file_bytes(path)
    if data is None:
        return None
    try:
        return _read(data, source, fmt)
    except (DataError, ConfigError, _BadValue, csv.Error, UnicodeDecodeError,
            pyarrow.ArrowException):
        return None  # the strict reader reports it, with the line and the fix


def _arrow() -> tuple[Any, Any, Any]:
    """pyarrow, its CSV reader and its compute functions (imported on first use)."""
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped]
    from pyarrow import csv as pa_csv

    return pa, pa_csv, pc


def _file_bytes(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
        if path.name.lower().endswith(".gz"):
            data = gzip.decompress(data)
    except (OSError, EOFError):  # includes gzip.BadGzipFile and truncated archives
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return data


def _read(data: bytes, source: str, fmt: FileFormat) -> _Columns | None:
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    peeked, delimiter, notes = _peek_delimiter(stream, fmt)
    head = _read_head(csv.reader(chain(peeked, stream), delimiter=delimiter), source, fmt,
                      notes)
    layout = head.layout
    if "close" not in layout or not _plain_body(data, delimiter, fmt):
        return None
    start = _line_offset(data, head.header_line)
    end = len(data.rstrip(b"\r\n"))
    if start is None or start >= end:
        return None
    rows = data.count(b"\n", start, end) + 1
    table = _parse(memoryview(data)[start:end], delimiter, head.width, layout)
    if table is None or table.num_rows != rows:
        return None  # blank lines: the strict reader numbers the lines around them
    columns = {index: table.column(f"c{index}") for index in set(layout.values())}

    extra = [role for role in layout if role.startswith("adj_")]
    values: dict[str, FloatArray] = {}
    for role in (*_PRICES, "volume", *extra):
        if role not in layout:
            values[role] = np.zeros(rows, dtype=np.float64)
            continue
        floats = _floats(columns[layout[role]])
        if floats is None:
            return None
        values[role] = floats
    stamps = _Stamps(fmt, source, notes)
    ts = _timestamps(stamps, columns, head.width, layout, fmt)
    if ts is None:
        return None
    first_line = head.header_line + 1
    return _Columns(
        ts,
        values["open"],
        values["high"],
        values["low"],
        values["close"],
        values["volume"],
        np.arange(first_line, first_line + rows, dtype=np.int64),
        {role: values[role] for role in extra},
        {role: head.names[role] for role in layout if role in head.names},
        tuple(notes),
    )


def _plain_body(data: bytes, delimiter: str, fmt: FileFormat) -> bool:
    """No byte that the csv module and pyarrow could split or number differently."""
    if b'"' in data or b"\x00" in data or data.count(b"\r") != data.count(b"\r\n"):
        return False
    if delimiter != ",":
        # Decimal commas: the strict reader decides per file from the close column.
        return not fmt.decimal_comma and b"," not in data
    return True


def _line_offset(data: bytes, lines: int) -> int | None:
    """The byte offset of the line after the first ``lines`` lines."""
    offset = len(_BOM) if data.startswith(_BOM) else 0
    for _ in range(lines):
        offset = data.find(b"\n", offset) + 1
        if offset == 0:
            return None
    return offset


def _parse(body: memoryview, delimiter: str, width: int, layout: dict[str, int]) -> Any:
    pa, pa_csv, _ = _arrow()
    types: dict[str, Any] = {}
    for role, index in layout.items():
        wanted = pa.string() if role in _TEXT_ROLES else pa.float64()
        name = f"c{index}"
        if types.setdefault(name, wanted) != wanted:
            return None  # one column read both as text and as numbers
    return pa_csv.read_csv(
        pa.py_buffer(body),
        read_options=pa_csv.ReadOptions(column_names=[f"c{k}" for k in range(width)]),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter),
        convert_options=pa_csv.ConvertOptions(
            column_types=types,
            include_columns=sorted(types),
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _floats(column: Any) -> FloatArray | None:
    values = np.asarray(column.to_numpy(), dtype=np.float64)
    if not np.isfinite(values).all():
        return None
    if not values.flags.writeable or not values.flags.c_contiguous:
        values = values.copy()
    return values


def _timestamps(stamps: _Stamps, columns: dict[int, Any], width: int,
                layout: dict[str, int], fmt: FileFormat) -> IntArray | None:
    """The timestamp column as the strict reader decides and reads it."""
    # The strict reader decides on its first batch of rows; give it the same rows.
    first: list[list[str]] = [[] for _ in range(width)]
    for role in _TEXT_ROLES:
        if role in layout:
            first[layout[role]] = columns[layout[role]].slice(0, _CHUNK_ROWS).to_pylist()
    stamps.decide(first[layout["timestamp"]], first, layout)
    column = columns[layout["timestamp"]]
    raw: IntArray | None
    if stamps.kind == "epoch":
        raw = _epochs(column)
    elif stamps.kind == "iso":
        raw = _iso(column, naive_only=fmt.tz is not None)
    else:
        raw = stamps.formatted(column.to_pylist())
    if raw is None:
        return None
    if stamps.time_index is not None:
        raw = raw + stamps.time_of_day(columns[stamps.time_index].to_pylist())
    return stamps.finish(raw)


def _epochs(column: Any) -> IntArray | None:
    pa, _, pc = _arrow()
    if not pc.all(pc.ascii_is_decimal(column)).as_py():
        return None  # a sign, spaces or hexadecimal: the strict reader judges them
    return _int64(pc.cast(column, pa.int64()))


def _iso(column: Any, *, naive_only: bool) -> IntArray | None:
    pa, _, pc = _arrow()
    pattern = _ISO_NAIVE if naive_only else _ISO
    if not pc.all(pc.match_substring_regex(column, pattern)).as_py():
        return None
    first = str(column[0].as_py())
    # Matched by _ISO: a sign six from the end can only start an offset.
    zoned = first.endswith("Z") or (len(first) > 16 and first[-6] in "+-")
    kind = pa.timestamp("ns", tz="UTC") if zoned else pa.timestamp("ns")
    return _int64(pc.cast(column, kind).cast(pa.int64()))


def _int64(column: Any) -> IntArray:
    values = np.asarray(column.to_numpy(), dtype=np.int64)
    if not values.flags.writeable or not values.flags.c_contiguous:
        values = values.copy()
    return values
