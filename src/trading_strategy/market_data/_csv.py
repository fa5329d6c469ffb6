"""CSV reading for the file loader: text → ``_Columns``, rejecting the first bad line.

The header layout (column names to roles, shared with the Parquet reader), row parsing in
batches with line numbers, float parsing, and timestamps: the whole-column ISO fast path,
the per-row ISO parser that names a bad value, and epoch integers scaled by magnitude
(also used for Parquet). The cyclic garbage collector is paused while parsing.
Validation of the parsed rows is left to :mod:`.files`.
"""

from __future__ import annotations

import csv
import gc
import gzip
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain, islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from trading_strategy.core.bars import FloatArray, IntArray, datetime_to_ns
from trading_strategy.core.errors import ConfigError, DataError
from trading_strategy.market_data._columns import _PRICES, _BadValue, _Columns
from trading_strategy.market_data._dates import (
    DateFormat,
    compile_format,
    detect_format,
    localize,
    looks_like_time,
    parse_with,
    time_format,
    zone,
)
from trading_strategy.market_data._layout import (
    first_row_is_header,
    header_layout,
    headerless_positions,
    positions_layout,
)
from trading_strategy.market_data.formats import FileFormat

_DELIMITER_NAMES = {"\t": "tab", ";": "semicolon", ",": "comma"}
_EXAMPLE_HEADER = "timestamp,open,high,low,close,volume"
# Rows parsed per batch: big enough that numpy does the work, small enough that the
# per-row Python lists of one batch stay a few MB.
_CHUNK_ROWS = 32_768
_INT64_MAX = int(np.iinfo(np.int64).max)
_NAT = np.iinfo(np.int64).min  # how numpy stores NaT

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_OFFSET = re.compile(r"[+-]\d\d:\d\d")
_GROUPED = re.compile(r"\s*[+-]?\d{1,3}(\.\d{3})+(,\d*)?\s*")
_TIMESTAMP_HINT = (
    "expected a date or ISO-8601 time (2024-01-31, 2024-01-31T09:30:00Z, "
    "2024-01-31T09:30:00+02:00) or an integer epoch; other forms: --date-format or "
    "--preset (docs/data.md)"
)


def _read_csv_file(path: Path, source: str, fmt: FileFormat | None = None) -> _Columns:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as stream:
                return _read_csv(stream, source, fmt)
        with path.open("r", encoding="utf-8-sig", newline="") as stream:
            return _read_csv(stream, source, fmt)
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason})", path=source) from None
    except (OSError, EOFError) as exc:  # includes gzip.BadGzipFile and truncated archives
        raise DataError(f"cannot read the file: {exc}", path=source) from None


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Parsing makes millions of short-lived lists and strings but no reference cycles; the
    # cyclic collector would rescan them again and again (about 15% of the load time of a
    # million-row file).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Stamps:
    """How the timestamp column is read: decided on the first rows, held for the file.

    Integer epochs, ISO-8601, or a strptime-style format (given, or detected for common
    non-ISO dates); plus a separate time-of-day column when there is one, and ``--tz``.
    """

    def __init__(self, fmt: FileFormat, source: str, notes: list[str]) -> None:
        self._fmt = fmt
        self._notes = notes
        self._kind = ""  # "epoch", "iso" or "format" once decided
        self._date: DateFormat | None = None
        self._time: DateFormat | None = None
        self._time_index: int | None = None

    def parse(self, cells: list[tuple[str, ...]], layout: dict[str, int]) -> IntArray:
        """One batch: raw epochs (see :meth:`finish`) or ns, as if naive times were UTC."""
        values = cells[layout["timestamp"]]
        if not self._kind:
            self._decide(values, cells, layout)
        if self._kind == "format":
            assert self._date is not None
            out = parse_with(values, self._date)
        else:
            out = _parse_timestamps(values, epoch=self._kind == "epoch")
        if self._time is not None and self._time_index is not None:
            out = out + parse_with(cells[self._time_index], self._time)
        return out

    def _decide(self, values: Sequence[str], cells: list[tuple[str, ...]],
                layout: dict[str, int]) -> None:
        fmt, first = self._fmt, values[0].strip()
        index = layout.get("time")
        candidate = layout.get("time_candidate")
        if index is None and candidate is not None and looks_like_time(cells[candidate][0]) \
                and ":" not in first:
            index = candidate
        if index is not None:
            self._time_index = index
            spelled = fmt.time_format or time_format(cells[index][0].strip())
            self._time = compile_format(spelled, option="the time column's format")
            self._notes.append("date and time from two columns")
        if fmt.date_format is not None:
            self._kind, self._date = "format", compile_format(fmt.date_format)
        elif _is_epoch_text(first):
            self._kind = "epoch"
        elif _is_iso(first):
            self._kind = "iso"
        else:
            detected = detect_format(values, month_first=fmt.month_first)
            if detected is None:
                self._kind = "iso"  # its parser names the bad value
            else:
                self._kind, self._date = "format", compile_format(detected)
                how = "detected" if fmt.month_first is None else "month first"
                self._notes.append(f"dates read as {detected!r} ({how}; --date-format "
                                   "overrides)")
        if fmt.tz is not None:
            if self._kind == "epoch":
                raise ConfigError("--tz: the timestamps are epochs, which are UTC already; "
                                  "drop --tz")
            if first.endswith("Z") or _OFFSET.fullmatch(first[-6:]):
                raise ConfigError(f"--tz: timestamps such as {first!r} carry their own "
                                  "offset; drop --tz")

    def finish(self, ts: IntArray) -> IntArray:
        """The whole column: epochs scaled to ns, ``--tz`` wall times converted to UTC."""
        if self._kind == "epoch":
            return _scale_epochs(ts)
        if self._fmt.tz is not None:
            self._notes.append(f"times in {self._fmt.tz} converted to UTC")
            return localize(ts, zone(self._fmt.tz))
        return ts


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _read_csv(stream: TextIO, source: str, fmt: FileFormat | None = None) -> _Columns:
    """Parse CSV text into columns; raises ``DataError`` at the first unreadable line."""
    fmt = fmt or FileFormat()
    peeked, delimiter, notes = _peek_delimiter(stream, fmt)
    reader = csv.reader(chain(peeked, stream), delimiter=delimiter)
    try:
        with _gc_paused():
            return _parse_csv(reader, source, fmt, delimiter, notes)
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", path=source, line=reader.line_num) from None


def _peek_delimiter(stream: TextIO, fmt: FileFormat) -> tuple[list[str], str, list[str]]:
    """The lines up to the first non-blank one, and the delimiter (given or detected).

    Detected: the most frequent of comma, tab and semicolon in that line, a comma on a
    tie, so a comma-separated file is never read otherwise.
    """
    peeked: list[str] = []
    while line := stream.readline():
        peeked.append(line)
        if line.strip():
            break
    if fmt.delimiter is not None:
        return peeked, fmt.delimiter, []
    head = peeked[-1] if peeked else ""
    counts = {",": head.count(","), "\t": head.count("\t"), ";": head.count(";")}
    best = max(counts, key=lambda key: (counts[key], key == ","))
    if best == ",":
        return peeked, ",", []
    return peeked, best, [f"{_DELIMITER_NAMES[best]}-separated (detected)"]


def _parse_csv(
    reader: Any, source: str, fmt: FileFormat, delimiter: str, notes: list[str]
) -> _Columns:
    header: list[str] | None = None
    for row in reader:
        if not _is_blank(row):
            header = row
            break
    if header is None:
        raise DataError(
            f"file is empty: expected a header line such as {_EXAMPLE_HEADER!r}",
            path=source,
            line=1,
        )
    header_line: int = reader.line_num
    pending: list[list[str]] = []
    positions = fmt.positions
    if not positions and not fmt.columns:
        found = headerless_positions(header)
        if found is not None:
            positions = found[0]
            notes.append(found[1])
    if positions:
        layout = positions_layout(positions)
        names = {role: role for role in layout}
        if not first_row_is_header(header, layout):
            pending = [header]  # no header: the first line is data
            header_line -= 1
    else:
        layout, found_notes = header_layout(header, source, header_line, fmt.columns)
        notes.extend(found_notes)
        names = {role: header[index].strip() for role, index in layout.items()}
    width = len(positions) if positions else len(header)
    what = f"({', '.join(positions)})" if positions else "as in the header"
    stamps = _Stamps(fmt, source, notes)
    decimal_comma = False if delimiter == "," else fmt.decimal_comma
    ts_parts: list[IntArray] = []
    extra = [role for role in layout if role.startswith("adj_")]
    value_parts: dict[str, list[FloatArray]] = {
        role: [] for role in (*_PRICES, "volume", *extra)
    }
    line_parts: list[IntArray] = []
    last_line = header_line

    while rows := pending + list(islice(reader, _CHUNK_ROWS - len(pending))):
        pending = []
        first_line, last_line = last_line + 1, reader.line_num
        rows, lines, width_error = _locate_rows(rows, first_line, last_line, width, what)
        errors: list[tuple[int, str]] = []
        if width_error is not None:
            errors.append(width_error)
        if rows:
            cells = list(zip(*rows, strict=True))
            if decimal_comma is None:
                decimal_comma = any("," in value for value in cells[layout["close"]])
                if decimal_comma:
                    notes.append("decimal commas")
            try:
                ts_parts.append(stamps.parse(cells, layout))
            except _BadValue as bad:
                errors.append((bad.index, f"bad timestamp {bad.value!r}: {bad.why}"))
            except ConfigError as exc:
                raise DataError(str(exc), path=source, line=int(lines[0])) from None
            for role in value_parts:
                if role not in layout:
                    value_parts[role].append(np.zeros(len(rows), dtype=np.float64))
                    continue
                try:
                    value_parts[role].append(
                        _parse_floats(cells[layout[role]], comma=bool(decimal_comma)))
                except _BadValue as bad:
                    errors.append((bad.index,
                                   f"bad number in column {names[role]}: {bad.value!r}"))
        if errors:
            # Several problems in one batch: report the earliest line (ties: the first found).
            index, reason = min(errors, key=lambda error: error[0])
            raise DataError(reason, path=source, line=int(lines[index]))
        line_parts.append(lines)

    if not ts_parts:
        raise DataError("no data rows after the header", path=source, line=header_line + 1)
    lines = np.concatenate(line_parts)
    try:
        ts = stamps.finish(np.concatenate(ts_parts))
    except _BadValue as bad:
        raise DataError(
            f"bad timestamp {bad.value!r}: {bad.why}", path=source, line=int(lines[bad.index])
        ) from None
    except ConfigError as exc:
        raise DataError(str(exc), path=source) from None
    merged = {role: np.concatenate(parts) for role, parts in value_parts.items()}
    return _Columns(
        ts,
        merged["open"],
        merged["high"],
        merged["low"],
        merged["close"],
        merged["volume"],
        lines,
        {role: merged[role] for role in extra},
        {role: names[role] for role in layout if role in names},
        tuple(notes),
    )


def _locate_rows(
    rows: list[list[str]], first_line: int, last_line: int, width: int,
    what: str = "as in the header",
) -> tuple[list[list[str]], IntArray, tuple[int, str] | None]:
    """Drop blank rows, give each row its starting line, and find the first ragged row.

    Returns the good rows before any ragged one, their lines, and ``(index, reason)`` of the
    ragged row (its index counts the returned rows) or ``None``.
    """
    if last_line - first_line + 1 == len(rows) and set(map(len, rows)) == {width}:
        # The common case: one row per line, all complete.
        return rows, np.arange(first_line, last_line + 1, dtype=np.int64), None
    kept: list[list[str]] = []
    kept_lines: list[int] = []
    line = first_line
    for row in rows:
        # A quoted field may hold newlines: the row then spans that many more lines.
        span = 1 + sum(cell.count("\n") for cell in row)
        if not _is_blank(row):
            if len(row) != width:
                reason = f"expected {width} fields {what}, found {len(row)}"
                kept_lines.append(line)
                return (
                    kept,
                    np.array(kept_lines, dtype=np.int64),
                    (len(kept), f"{reason}: {_excerpt(row)}"),
                )
            kept.append(row)
            kept_lines.append(line)
        line += span
    return kept, np.array(kept_lines, dtype=np.int64), None


def _excerpt(row: list[str], limit: int = 80) -> str:
    text = ",".join(row)
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _parse_floats(values: Sequence[str], *, comma: bool = False) -> FloatArray:
    """Strings → float64; raises ``_BadValue`` at the first value ``float()`` rejects.

    ``comma``: decimal commas (``1,5``); the value is reported as written.
    """
    if comma:
        written = values
        for index, value in enumerate(values):
            # With decimal commas a dot can only group thousands: "1.5" would be ambiguous.
            if "." in value and _GROUPED.fullmatch(value) is None:
                raise _BadValue(index, value)
        values = [value.replace(".", "").replace(",", ".") for value in values]
        try:
            return _parse_floats(values)
        except _BadValue as bad:
            raise _BadValue(bad.index, written[bad.index]) from None
    try:
        # float() per value is quicker than numpy's own string conversion.
        return np.fromiter(map(float, values), dtype=np.float64, count=len(values))
    except ValueError:
        pass
    out = np.empty(len(values), dtype=np.float64)
    for index, value in enumerate(values):
        try:
            out[index] = float(value)
        except ValueError:
            raise _BadValue(index, value) from None
    return out


# --- timestamps -----------------------------------------------------------------------


def _is_epoch_text(value: str) -> bool:
    # Eight digits are a YYYYMMDD date: as epoch seconds they would all fall in 1970-73.
    return _INTEGER.fullmatch(value) is not None and len(value.strip().lstrip("+-")) != 8


def _parse_timestamps(values: Sequence[str], *, epoch: bool) -> IntArray:
    """Raw epoch integers (``epoch``; scale with :func:`_scale_epochs`) or UTC ns."""
    if epoch:
        try:
            return np.array(values, dtype=np.int64)
        except (ValueError, OverflowError, TypeError):
            for index, value in enumerate(values):
                if _INTEGER.fullmatch(value) is None:
                    raise _BadValue(
                        index, value, "expected an integer epoch like the first row"
                    ) from None
                if abs(int(value)) > _INT64_MAX:
                    raise _BadValue(index, value, "epoch out of range") from None
            # numpy refused a spelling int() accepts (such as surrounding spaces).
            return np.array([int(value) for value in values], dtype=np.int64)
    fast = _parse_iso_fast(values)
    return fast if fast is not None else _parse_iso_slow(values)


def _offset_ns(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    return sign * (int(text[1:3]) * 60 + int(text[4:6])) * 60_000_000_000


def _parse_iso_fast(values: Sequence[str]) -> IntArray | None:
    """Whole-column numpy parse of uniform ISO text; ``None`` → use the per-row parser.

    Handles a trailing ``Z`` or ``±HH:MM`` on every row; anything unusual (mixed suffixes,
    other offset spellings, words numpy would accept such as "now") falls back.
    """
    offset: IntArray | int = 0
    first = values[0]
    if first.endswith("Z"):
        if not all(map(str.endswith, values, repeat("Z"))):
            return None
        bodies = [value[:-1] for value in values]
    elif len(first) > 10 and _OFFSET.fullmatch(first[-6:]):
        tails = [value[-6:] for value in values]
        distinct = set(tails)
        if not all(_OFFSET.fullmatch(tail) for tail in distinct):
            return None
        by_tail = {tail: _offset_ns(tail) for tail in distinct}
        if len(distinct) == 1:
            offset = by_tail[first[-6:]]
        else:  # e.g. a daylight-saving change inside the file
            offset = np.array([by_tail[tail] for tail in tails], dtype=np.int64)
        bodies = [value[:-6] for value in values]
    else:
        bodies = list(values)
    # numpy's parser also accepts "now", "today", "NaT" and years of any length: only
    # "YYYY-..." text takes this path (which also rules out empty values).
    try:
        if not "".join(map(itemgetter(0), bodies)).isdigit():
            return None
        if "".join(map(itemgetter(4), bodies)).strip("-"):
            return None
    except IndexError:  # a value shorter than "YYYY-"
        return None
    if min(map(len, bodies)) < 10:
        # numpy reads "2005-01" as 2005-01-01 and "2005" as 2005-01-01: a truncated date
        # would silently move its bar. The per-row parser rejects them.
        return None
    try:
        with warnings.catch_warnings():
            # numpy only warns (and guesses) on leftover time-zone text: let the slow path decide.
            warnings.simplefilter("error")
            # Microseconds cover any 4-digit year without overflow; nanoseconds would wrap
            # silently outside 1678..2262.
            micros = np.array(bodies, dtype="datetime64[us]").astype(np.int64)
    except (ValueError, OverflowError, TypeError, Warning):
        return None
    if np.any(micros == _NAT) or np.any(np.abs(micros) > _INT64_MAX // 1000):
        return None  # the per-row parser names the bad value
    result: IntArray = micros * 1000 - offset
    return result


def _parse_iso_slow(values: Sequence[str]) -> IntArray:
    """Per-row ``datetime.fromisoformat``: any mix of ISO forms; reports the bad value."""
    out = np.empty(len(values), dtype=np.int64)
    for index, value in enumerate(values):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _BadValue(index, value, _TIMESTAMP_HINT) from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        nanos = datetime_to_ns(moment)
        if abs(nanos) > _INT64_MAX:
            raise _BadValue(index, value, "out of range")
        out[index] = nanos
    return out


def _scale_epochs(raw: IntArray) -> IntArray:
    """Epoch integers → ns, the unit chosen by the largest magnitude in the column."""
    if raw.size == 0:
        return raw
    biggest = int(np.max(np.abs(raw.astype(np.float64))))
    if biggest < 10**11:
        scale = 1_000_000_000  # seconds: 1e11 s is the year 5138
    elif biggest < 10**14:
        scale = 1_000_000  # milliseconds
    elif biggest < 10**17:
        scale = 1_000  # microseconds
    else:
        scale = 1  # nanoseconds
    limit = _INT64_MAX // scale
    too_big = np.abs(raw) > limit
    if np.any(too_big):
        index = int(np.argmax(too_big))
        raise _BadValue(index, str(int(raw[index])), "epoch out of range for nanoseconds")
    result: IntArray = raw * scale
    return result
