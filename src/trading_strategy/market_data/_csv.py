"""CSV reading for the file loader: text → ``_Columns``, rejecting the first bad line.

The delimiter (given or detected), the header or the roles of a header-less file
(:mod:`._layout`), row parsing in batches with line numbers, and float parsing (decimal
commas included); timestamps are read by :mod:`._timestamps`. The cyclic garbage collector
is paused while parsing.
Validation of the parsed rows is left to :mod:`.files`.
"""

from __future__ import annotations

import csv
import gc
import gzip
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from trading_strategy.core.bars import FloatArray, IntArray
from trading_strategy.core.errors import ConfigError, DataError
from trading_strategy.market_data._columns import _PRICES, _BadValue, _Columns
from trading_strategy.market_data._layout import (
    first_row_is_header,
    header_layout,
    headerless_positions,
    positions_layout,
)
from trading_strategy.market_data._timestamps import _Stamps
from trading_strategy.market_data.formats import FileFormat

_DELIMITER_NAMES = {"\t": "tab", ";": "semicolon", ",": "comma"}
_EXAMPLE_HEADER = "timestamp,open,high,low,close,volume"
# Rows parsed per batch: big enough that numpy does the work, small enough that the
# per-row Python lists of one batch stay a few MB.
_CHUNK_ROWS = 32_768

_GROUPED = re.compile(r"\s*[+-]?\d{1,3}(\.\d{3})+(,\d*)?\s*")


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


@dataclass(frozen=True, slots=True)
class _Head:
    """What the lines before the data say: which column holds what, and where data starts."""

    layout: dict[str, int]  # role -> column index
    names: dict[str, str]  # role -> its name in the file (the role itself without a header)
    width: int  # fields per row
    what: str  # how the fields are named, for the ragged-row message
    header_line: int  # the line before the first data row
    pending: list[list[str]]  # the first data row when the file has no header


def _read_head(reader: Any, source: str, fmt: FileFormat, notes: list[str]) -> _Head:
    """Read the header (or recognise a header-less file); ``DataError`` when there is none.

    Shared by the strict reader and the fast path (:mod:`._arrow_csv`), so both name and
    place the columns alike.
    """
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
    return _Head(layout, names, width, what, header_line, pending)


def _parse_csv(
    reader: Any, source: str, fmt: FileFormat, delimiter: str, notes: list[str]
) -> _Columns:
    head = _read_head(reader, source, fmt, notes)
    layout, names, width, what = head.layout, head.names, head.width, head.what
    header_line, pending = head.header_line, head.pending
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
