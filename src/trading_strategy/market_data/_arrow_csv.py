"""The fast path of the CSV reader: pyarrow's streaming parser, where it reads as ours.

:func:`read_csv_fast` reads a file the way :mod:`._csv` does — the same header rules
(:func:`._csv._read_head`), the same timestamp decision (:class:`._timestamps._Stamps`), the
same float64 values bit for bit — about five times faster on a large file. It answers only
for files it can judge exactly and returns ``None`` for anything else: then the strict reader
reads the file and names the line and the fix. So it never raises for a bad file, and it
refuses (returns ``None``) when:

* pyarrow is not installed, or the file is small (below :data:`MIN_BYTES`, importing
  pyarrow costs more than it saves), unreadable, or not UTF-8;
* the data rows (the header may have them) hold quotes, NUL bytes or carriage returns
  without a line feed, or there are blank lines or ragged rows (the strict reader's line
  numbers and messages depend on them), or commas with another delimiter (decimal commas);
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

Memory and threads: the file is scanned in pieces, then parsed by pyarrow in one call on
its threads (the interpreter lock is released meanwhile: the command's other work goes on),
into batches of about 1 MB of text that are converted into the final numpy columns; a
million-row file holds some 65 MB of Arrow data until its columns are filled.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
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
_HEAD_BYTES = 1 << 16  # the header must be in the first 64 KB
_READ_BYTES = 1 << 23  # the rest is scanned in pieces of 8 MB
# ISO-8601 shapes read alike by pyarrow's cast and datetime.fromisoformat (naive or zoned
# as the first value is; the cast refuses a mix). More than six fraction digits are not
# here: fromisoformat truncates them to microseconds, pyarrow keeps nanoseconds.
_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
_ISO_NAIVE = rf"^{_DATE}(?:{_TIME})?$"
_ISO = rf"^{_DATE}(?:{_TIME}(?:Z|[+-]\d{{2}}:\d{{2}})?)?$"
_TEXT_ROLES = ("timestamp", "time", "time_candidate")
Bytes2D = np.ndarray[tuple[int, int], np.dtype[np.uint8]]


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
    try:
        return _read(path, source, fmt)
    except (DataError, ConfigError, _BadValue, csv.Error, UnicodeDecodeError,
            pyarrow.ArrowException):
        return None  # the strict reader reports it, with the line and the fix


def _arrow() -> tuple[Any, Any, Any]:
    """pyarrow, its CSV reader and its compute functions (imported on first use)."""
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped]
    from pyarrow import csv as pa_csv

    return pa, pa_csv, pc


def _arrow_io() -> tuple[Any, Any]:
    """pyarrow and its CSV reader, without the compute functions (some 30 ms to import,
    needed only off the usual path: epochs, unusual ISO text)."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    return pa, pa_csv


def _read(path: Path, source: str, fmt: FileFormat) -> _Columns | None:
    gz = path.name.lower().endswith(".gz")
    try:
        with gzip.open(path, "rb") if gz else path.open("rb") as raw:
            prefix = raw.read(_HEAD_BYTES)
            text = io.TextIOWrapper(io.BytesIO(prefix), encoding="utf-8-sig", newline="")
            peeked, delimiter, notes = _peek_delimiter(text, fmt)
            head = _read_head(csv.reader(chain(peeked, text), delimiter=delimiter), source,
                              fmt, notes)
            start = _line_offset(prefix, head.header_line)
            # The head must have been read from whole lines (the first data line too: a
            # header-less file is recognised from it).
            whole = len(prefix) < _HEAD_BYTES or _line_offset(prefix, head.header_line + 1)
            if start is None or not whole:
                return None
            chunks = chain([prefix[start:]], iter(lambda: raw.read(_READ_BYTES), b""))
            del prefix, text, peeked
            body = _scan(chunks, delimiter)
    except (OSError, EOFError):  # includes gzip.BadGzipFile and truncated archives
        return None
    layout = head.layout
    if body is None or body.rows == 0 or "close" not in layout:
        return None
    if delimiter != "," and (fmt.decimal_comma or body.comma):
        return None  # decimal commas: the strict reader decides per file from the close column
    rows = body.rows
    stamps = _Stamps(fmt, source, notes)
    read = _Filler(rows, layout, stamps, naive_only=fmt.tz is not None)
    with _data_rows(path, gz, start) as data:
        batches = _batches(data, delimiter, head.width, layout)
        if batches is None:
            return None
        for batch in batches:
            if not read.add(batch):
                return None
    if not read.finish():
        return None  # fewer rows than lines: blank lines, numbered around by the strict reader
    ts = stamps.finish(read.raw_ts)
    values = read.values
    extra = [role for role in layout if role.startswith("adj_")]
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


@dataclass(frozen=True, slots=True)
class _Body:
    rows: int  # lines up to the last one that is not blank
    comma: bool  # holds a comma


def _scan(chunks: Iterable[bytes], delimiter: str) -> _Body | None:
    """Count the data lines; ``None`` for a byte that the csv module and pyarrow could split
    or number differently (a quote, NUL, a carriage return without a line feed) or text
    that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines = trailing = 0
    comma = after_cr = content = False
    for chunk in chunks:
        if b'"' in chunk or b"\x00" in chunk:
            return None
        if after_cr and chunk[:1] not in (b"\n", b""):
            return None
        if chunk:
            ends_cr = chunk.endswith(b"\r")
            # counting is a pass over the piece, a search much less: most files have no CR
            if b"\r" in chunk and chunk.count(b"\r") - chunk.count(b"\r\n") - ends_cr > 0:
                return None
            after_cr = ends_cr
        if not chunk.isascii():
            decoder.decode(chunk)  # UnicodeDecodeError: the strict reader names it
        comma = comma or (delimiter != "," and b"," in chunk)
        count = chunk.count(b"\n")
        newlines += count
        stripped = len(chunk.rstrip(b"\r\n"))
        if stripped:
            content = True
            trailing = chunk.count(b"\n", stripped)
        else:
            trailing += count
    decoder.decode(b"", final=True)
    if after_cr:
        return None
    lines = newlines - trailing + 1 if content else 0
    return _Body(lines, comma)


def _line_offset(data: bytes, lines: int) -> int | None:
    """The byte offset of the line after the first ``lines`` lines."""
    offset = len(_BOM) if data.startswith(_BOM) else 0
    for _ in range(lines):
        offset = data.find(b"\n", offset) + 1
        if offset == 0:
            return None
    return offset


def _data_rows(path: Path, gz: bool, start: int) -> Any:
    """The file as a pyarrow stream, from byte ``start`` of its text (a plain file mapped
    into memory: its pages are the page cache's, not copies)."""
    pa, _ = _arrow_io()
    if gz:
        stream = pa.input_stream(str(path), compression="gzip")
        stream.read(start)
        return stream
    stream = pa.memory_map(str(path))
    stream.seek(start)
    return stream


def _batches(data: Any, delimiter: str, width: int, layout: dict[str, int]) -> Any:
    """The data rows as pyarrow record batches (of about 1 MB of text each), parsed by
    pyarrow's threads in one call that does not hold the interpreter: the command's other
    thread (opening the database) runs meanwhile, and both cores parse.

    Arrow memory comes from the system allocator: pyarrow's default pool keeps what it
    freed, some 100 MB for a million rows, which would add to the peak of the run after.
    """
    pa, pa_csv = _arrow_io()
    types: dict[str, Any] = {}
    for role, index in layout.items():
        wanted = pa.string() if role in _TEXT_ROLES else pa.float64()
        if types.setdefault(f"c{index}", wanted) != wanted:
            return None  # one column read both as text and as numbers
    table = pa_csv.read_csv(
        data,
        memory_pool=pa.system_memory_pool(),
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
    return table.to_batches()


class _Filler:
    """Fills the file's columns batch by batch; ``add`` and ``finish`` return ``False`` when
    the fast path must give up.

    Text columns wait until the strict reader's first batch of rows has been seen: it
    decides how timestamps are read from those rows (:meth:`._timestamps._Stamps.decide`).
    """

    def __init__(self, rows: int, layout: dict[str, int], stamps: _Stamps, *,
                 naive_only: bool) -> None:
        self._rows = rows
        self._layout = layout
        self._stamps = stamps
        self._naive_only = naive_only
        self._at = 0
        self._zoned: bool | None = None
        self._waiting: list[tuple[int, Any]] = []  # (first row, batch) of undecided text
        self.raw_ts: IntArray = np.empty(rows, dtype=np.int64)
        roles = [role for role in (*_PRICES, "volume") if role not in layout]
        self.values: dict[str, FloatArray] = {
            role: np.zeros(rows, dtype=np.float64) for role in roles}
        self._floats = {role: f"c{index}" for role, index in layout.items()
                        if role not in _TEXT_ROLES}
        for role in self._floats:
            self.values[role] = np.empty(rows, dtype=np.float64)

    def add(self, batch: Any) -> bool:
        at, count = self._at, batch.num_rows
        if at + count > self._rows:
            return False
        for role, name in self._floats.items():
            floats = _float_view(batch.column(name))
            if not np.isfinite(floats).all():
                return False
            self.values[role][at: at + count] = floats
        self._at += count
        if self._stamps.kind:
            return self._stamp(at, batch)
        self._waiting.append((at, batch))
        if self._at >= min(_CHUNK_ROWS, self._rows):
            return self._decide()
        return True

    def finish(self) -> bool:
        if self._at != self._rows:
            return False
        return bool(self._stamps.kind) or self._decide()

    def _decide(self) -> bool:
        pa, _ = _arrow_io()
        layout = self._layout
        width = max(layout.values()) + 1
        first: list[list[str]] = [[] for _ in range(width)]
        for role in _TEXT_ROLES:
            if role in layout:
                name = f"c{layout[role]}"
                column = pa.chunked_array([batch.column(name) for _, batch in self._waiting])
                first[layout[role]] = column.slice(0, _CHUNK_ROWS).to_pylist()
        stamps_first = first[layout["timestamp"]]
        self._stamps.decide(stamps_first, first, layout)
        first_value = stamps_first[0]
        # Matched by _ISO later: a sign six from the end can only start an offset.
        self._zoned = first_value.endswith("Z") or (
            len(first_value) > 16 and first_value[-6] in "+-")
        waiting, self._waiting = self._waiting, []
        return all(self._stamp(at, batch) for at, batch in waiting)

    def _stamp(self, at: int, batch: Any) -> bool:
        stamps = self._stamps
        column = batch.column(f"c{self._layout['timestamp']}")
        raw: IntArray | None
        if stamps.kind == "epoch":
            raw = _epochs(column)
        elif stamps.kind == "iso":
            raw = _iso(column, zoned=bool(self._zoned), naive_only=self._naive_only)
        else:
            raw = stamps.formatted(column.to_pylist())
        if raw is None:
            return False
        if stamps.time_index is not None:
            raw = raw + stamps.time_of_day(batch.column(f"c{stamps.time_index}").to_pylist())
        self.raw_ts[at: at + len(raw)] = raw
        return True


def _float_view(column: Any) -> FloatArray:
    """A float64 Arrow array (no nulls: the reader has no null values) as a numpy view of
    its buffer. ``to_numpy`` would do the same but imports pandas on first use (some 150
    ms, paid by every CLI run that reads a large file)."""
    if column.null_count:
        raise DataError("a null number")  # cannot happen with null_values=[]: be sure
    return np.frombuffer(column.buffers()[1], dtype=np.float64, count=len(column),
                         offset=column.offset * 8)


def _int_view(column: Any) -> IntArray:
    """An int64 (or timestamp) Arrow array without nulls as a numpy view (see above)."""
    if column.null_count:
        raise DataError("a null timestamp")
    return np.frombuffer(column.buffers()[1], dtype=np.int64, count=len(column),
                         offset=column.offset * 8)


def _epochs(column: Any) -> IntArray | None:
    pa, _, pc = _arrow()
    pool = pa.system_memory_pool()
    if not pc.all(pc.ascii_is_decimal(column, memory_pool=pool)).as_py():
        return None  # a sign, spaces or hexadecimal: the strict reader judges them
    return _int_view(pc.cast(column, pa.int64(), memory_pool=pool))


def _iso(column: Any, *, zoned: bool, naive_only: bool) -> IntArray | None:
    pattern = _ISO_NAIVE if naive_only else _ISO
    shaped = _shaped_rows(column, pattern)
    if shaped is not None:
        quick = _iso_ns(*shaped)
        if quick is not None:
            return quick
    pa, _, pc = _arrow()
    pool = pa.system_memory_pool()
    if shaped is None and not pc.all(
            pc.match_substring_regex(column, pattern, memory_pool=pool)).as_py():
        return None
    kind = pa.timestamp("ns", tz="UTC") if zoned else pa.timestamp("ns")
    stamps = pc.cast(column, kind, memory_pool=pool)
    return _int_view(pc.cast(stamps, pa.int64(), memory_pool=pool))


_DIGITS = frozenset(b"0123456789")


def _shaped_rows(column: Any, pattern: str) -> tuple[Bytes2D, bytes] | None:
    """The texts of ``column`` as rows of bytes, and the first text, when every text has
    the shape of the first, which ``pattern`` matches: the same length, digits where the
    first has digits and its other characters where it has them — then every text matches
    ``pattern`` as the first does. A quick test (a few array operations on the text bytes
    instead of a regular expression per row); ``None`` leaves the decision to the regular
    expression."""
    n = len(column)
    if n == 0 or column.null_count or column.type != "string":
        return None
    offsets_buffer, data_buffer = column.buffers()[1:3]
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=n + 1,
                            offset=column.offset * 4)
    width = int(offsets[1] - offsets[0])
    if width == 0 or int(offsets[-1] - offsets[0]) != width * n:
        return None
    data = np.frombuffer(data_buffer, dtype=np.uint8, count=width * n,
                         offset=int(offsets[0]))
    if not np.array_equal(np.diff(offsets), np.full(n, width, dtype=offsets.dtype)):
        return None
    rows = data.reshape(n, width)
    first = bytes(rows[0])
    if re.match(pattern, first.decode("ascii", "replace")) is None:
        return None
    digit = np.array([byte in _DIGITS for byte in first])
    shape = rows[:, ~digit]
    if not (shape == np.frombuffer(first, dtype=np.uint8)[~digit]).all():
        return None
    numbers = rows[:, digit]
    if not ((numbers >= 48) & (numbers <= 57)).all():
        return None
    return rows, first


def _same_shape(column: Any, pattern: str) -> bool:
    """Whether every text of ``column`` has the shape of its first (see ``_shaped_rows``)."""
    return _shaped_rows(column, pattern) is not None


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _iso_ns(rows: Bytes2D, first: bytes) -> IntArray | None:
    """ns since the epoch of ISO texts of one shape (``_shaped_rows``): a date, a time
    to the minute, second or fraction, naive or with ``Z`` — the instant pyarrow's cast
    and ``datetime.fromisoformat`` read (naive as UTC). ``None`` for other shapes (an
    offset), a value no calendar has (February 30, 24:00) or a year outside 1700..2200:
    the cast decides those."""
    text = first.decode("ascii")
    if text.endswith("Z"):
        text = text[:-1]
    if len(text) not in (10, 16, 19) and not (len(text) > 20 and text[19] == "."):
        return None
    if (len(text) > 10 and text[10] not in "T ") or "+" in text or text.count("-") != 2:
        return None

    def number(lo: int, hi: int) -> IntArray:
        value = rows[:, lo].astype(np.int64) - 48
        for k in range(lo + 1, hi):
            value = value * 10 + (rows[:, k].astype(np.int64) - 48)
        return value

    year, month, day = number(0, 4), number(5, 7), number(8, 10)
    if not ((year >= 1700).all() and (year <= 2200).all() and (month >= 1).all()
            and (month <= 12).all() and (day >= 1).all()):
        return None
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    if not (day <= _DAYS_IN_MONTH[month] + (leap & (month == 2))).all():
        return None
    # days since 1970-01-01 (H. Hinnant's days_from_civil), then the time of day
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    seconds = days * 86_400
    if len(text) >= 16:
        hour, minute = number(11, 13), number(14, 16)
        if not ((hour <= 23).all() and (minute <= 59).all()):
            return None
        seconds = seconds + hour * 3600 + minute * 60
    if len(text) >= 19:
        second = number(17, 19)
        if not (second <= 59).all():
            return None
        seconds = seconds + second
    ns = seconds * 1_000_000_000
    if len(text) > 20:
        digits = len(text) - 20
        ns = ns + number(20, 20 + digits) * 10 ** (9 - digits)
    result: IntArray = ns
    return result
