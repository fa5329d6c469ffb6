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
from itertools import islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from trading_strategy.core.bars import FloatArray, IntArray, datetime_to_ns
from trading_strategy.core.errors import DataError
from trading_strategy.market_data._adjusted import _ADJUSTED_ALIASES, _check_adjustment_columns
from trading_strategy.market_data._columns import _PRICES, _BadValue, _Columns

_TIMESTAMP_ALIASES = ("timestamp", "datetime", "date", "time")
_EXAMPLE_HEADER = "timestamp,open,high,low,close,volume"
# Rows parsed per batch: big enough that numpy does the work, small enough that the
# per-row Python lists of one batch stay a few MB.
_CHUNK_ROWS = 32_768
_INT64_MAX = int(np.iinfo(np.int64).max)
_NAT = np.iinfo(np.int64).min  # how numpy stores NaT

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_OFFSET = re.compile(r"[+-]\d\d:\d\d")
_TIMESTAMP_HINT = (
    "expected a date or ISO-8601 time (2024-01-31, 2024-01-31T09:30:00Z, "
    "2024-01-31T09:30:00+02:00) or an integer epoch"
)


def _read_csv_file(path: Path, source: str) -> _Columns:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as stream:
                return _read_csv(stream, source)
        with path.open("r", encoding="utf-8-sig", newline="") as stream:
            return _read_csv(stream, source)
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


def _normalized(name: str) -> str:
    # "Adj Close", "adj_close", "Adj. Close", "adjClose" and "Adj Close**" (Yahoo's web
    # table) all read "adjclose".
    return re.sub(r"[\s._*-]", "", name).lower()


def _header_layout(names: Sequence[str], source: str, line: int | None) -> dict[str, int]:
    """Map each role (timestamp, open, ..., volume, adj_close, ...) to its column index.

    A column that looks like a price adjustment but is not one we apply (``adj factor``,
    an adjusted open without an adjusted close) is refused: the prices next to it are
    probably not the ones to trade on, and guessing would be silently wrong.
    """
    normalized = [_normalized(name) for name in names]
    positions: dict[str, int] = {}
    for index, name in enumerate(normalized):
        positions.setdefault(name, index)  # the first of repeated names wins
    layout: dict[str, int] = {}
    for alias in _TIMESTAMP_ALIASES:
        if alias in positions:
            layout["timestamp"] = positions[alias]
            break
    for role in (*_PRICES, "volume"):
        if role in positions:
            layout[role] = positions[role]
    for alias, role in _ADJUSTED_ALIASES.items():
        if alias in positions and role not in layout:
            layout[role] = positions[alias]
    _check_adjustment_columns(names, normalized, layout, source, line)
    missing = [role for role in ("timestamp", *_PRICES) if role not in layout]
    if missing:
        found = ", ".join(name.strip() for name in names if name.strip()) or "none"
        reason = (
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"found {found}; the header must name timestamp (or date, time, datetime), "
            "open, high, low, close and optionally volume"
        )
        if names and re.match(r"\s*[\d.+-]", names[0]):
            reason += " (the first line looks like data: a header line is required)"
        raise DataError(reason, path=source, line=line)
    return layout


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _read_csv(stream: TextIO, source: str) -> _Columns:
    """Parse CSV text into columns; raises ``DataError`` at the first unreadable line."""
    reader = csv.reader(stream)
    try:
        with _gc_paused():
            return _parse_csv(reader, source)
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", path=source, line=reader.line_num) from None


def _parse_csv(reader: Any, source: str) -> _Columns:
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
    layout = _header_layout(header, source, header_line)
    width = len(header)
    epoch: bool | None = None  # decided by the first data row, then held for the column
    ts_parts: list[IntArray] = []
    extra = [role for role in layout if role.startswith("adj_")]
    value_parts: dict[str, list[FloatArray]] = {
        role: [] for role in (*_PRICES, "volume", *extra)
    }
    line_parts: list[IntArray] = []
    last_line = header_line

    while rows := list(islice(reader, _CHUNK_ROWS)):
        first_line, last_line = last_line + 1, reader.line_num
        rows, lines, width_error = _locate_rows(rows, first_line, last_line, width)
        errors: list[tuple[int, str]] = []
        if width_error is not None:
            errors.append(width_error)
        if rows:
            cells = list(zip(*rows, strict=True))
            ts_text = cells[layout["timestamp"]]
            if epoch is None:
                epoch = _is_epoch_text(ts_text[0])
            try:
                ts_parts.append(_parse_timestamps(ts_text, epoch=epoch))
            except _BadValue as bad:
                errors.append((bad.index, f"bad timestamp {bad.value!r}: {bad.why}"))
            for role in value_parts:
                if role not in layout:
                    value_parts[role].append(np.zeros(len(rows), dtype=np.float64))
                    continue
                try:
                    value_parts[role].append(_parse_floats(cells[layout[role]]))
                except _BadValue as bad:
                    name = header[layout[role]].strip()
                    errors.append((bad.index, f"bad number in column {name}: {bad.value!r}"))
        if errors:
            # Several problems in one batch: report the earliest line (ties: the first found).
            index, reason = min(errors, key=lambda error: error[0])
            raise DataError(reason, path=source, line=int(lines[index]))
        line_parts.append(lines)

    if not ts_parts:
        raise DataError("no data rows after the header", path=source, line=header_line + 1)
    ts = np.concatenate(ts_parts)
    lines = np.concatenate(line_parts)
    if epoch:
        try:
            ts = _scale_epochs(ts)
        except _BadValue as bad:
            raise DataError(
                f"bad timestamp {bad.value!r}: {bad.why}", path=source, line=int(lines[bad.index])
            ) from None
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
        {role: header[index].strip() for role, index in layout.items()},
    )


def _locate_rows(
    rows: list[list[str]], first_line: int, last_line: int, width: int
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
                reason = f"expected {width} fields as in the header, found {len(row)}"
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


def _parse_floats(values: Sequence[str]) -> FloatArray:
    """Strings → float64; raises ``_BadValue`` at the first value ``float()`` rejects."""
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
