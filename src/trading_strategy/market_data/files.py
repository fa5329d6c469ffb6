"""Load OHLCV bars from a CSV or Parquet file, or a bundled sample, into a ``BarSeries``.

:func:`load_bars` is the one entry point. Its rules:

**What is loaded.** An argument naming an existing file is loaded by its suffix: ``.csv``,
``.csv.gz`` or ``.parquet`` (``.pq``). Otherwise it is looked up as a bundled sample symbol
(any case: ``"goog"``); otherwise ``DataError`` lists the samples.

**Columns.** A header is required; names are matched ignoring case, spaces, ``.``, ``_``,
``-`` and ``*``: ``timestamp`` (or ``datetime``, ``date``, ``time``), ``open``, ``high``,
``low``, ``close`` and optionally ``volume`` (zeros when absent). Other columns are ignored,
except adjustments. Blank lines are skipped; a UTF-8 byte-order mark is allowed.

**Adjusted prices** (``Adj Close`` and its spellings; see docs/data.md) replace the prices:
a full adjusted open/high/low/close set as it is, an adjusted close alone by scaling open,
high and low with ``adj close / close`` (:func:`.validation.adjust_by_close`); an adjusted
volume replaces the volume. A warning says so. An ``adj...`` column that cannot be applied
(``Adj Factor``, an adjusted open without an adjusted close) is refused: unadjusted prices
are never used silently next to adjusted ones.

**Timestamps** are read as UTC and stored as int64 ns: ``2024-01-31``,
``2024-01-31T09:30:00`` (naive means UTC), ``...Z``, ``...+02:00`` (converted to UTC),
``20240131`` (8 digits: a date), or integer epochs in seconds, milliseconds, microseconds or
nanoseconds, told apart by magnitude (below 1e11 seconds, below 1e14 ms, below 1e17 µs).
Parquet timestamp and date columns are taken as they are (naive as UTC).

**Rejections** raise :class:`~trading_strategy.core.errors.DataError` naming the file, the
1-based line (the header is line 1) and the reason. The file is read first, and the first
unreadable line is reported (wrong number of fields, bad number, bad timestamp: the bad
value is quoted); then the rows are checked by :func:`.validation.find_problem` and the first
bad row is reported (non-positive/NaN/infinite price, negative or too large volume,
high/low not enclosing open and close, duplicate or out-of-order timestamp, a price that
rounds to zero ticks or is too large to hold exactly at the instrument's tick). Parquet has
no lines: the reason starts with the 1-based row number instead.

**Repair** (``repair=True``) sorts rows by time and drops duplicate timestamps, keeping the
last row of each, with one line in ``LoadResult.warnings`` per kind of repair. Bad values
are still errors: prices are never invented.

**Timeframe**: the argument, checked against the data (the median gap, or for sparse data
the smallest gap, must equal it); otherwise inferred from the median gap (``1d`` for daily
bars with weekend gaps).

**Instrument**: for samples, :func:`.samples.sample_instrument`. For files: symbol from the
``symbol`` argument, else the file name up to the first ``_``, upper-cased
(``goog_1d.csv`` → ``GOOG``); tick size from the argument, else the fewest decimals that
write every price exactly (:func:`.validation.price_decimals`, capped at 8); lot size 1;
asset class and calendar by :func:`.validation.guess_market` (bars on Saturday and Sunday:
crypto 24/7; intraday bars on Sunday only: FX; otherwise US equity).

pyarrow is imported only when a Parquet file is read, so loading a CSV stays fast to start.
"""

from __future__ import annotations

import csv
import gc
import gzip
import io
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from trading_strategy.core.bars import BarSeries, FloatArray, IntArray, datetime_to_ns
from trading_strategy.core.errors import ConfigError, DataError
from trading_strategy.core.instrument import AssetClass, Instrument, infer_tick_size
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.market_data import samples
from trading_strategy.market_data.validation import (
    ProblemKind,
    adjust_by_close,
    find_adjusted_problem,
    find_problem,
    guess_market,
    median_spacing,
    price_decimals,
    repair_order,
    timeframe_for_spacing,
    timeframe_mismatch,
)

__all__ = ["LoadResult", "load_bars"]

_TIMESTAMP_ALIASES = ("timestamp", "datetime", "date", "time")
_PRICES = ("open", "high", "low", "close")
# Adjusted prices, as Yahoo ("Adj Close"), Alpha Vantage ("adjusted_close"), Quandl
# ("Adj. Open" ...) and Tiingo ("adjOpen" ...) name them; matched after _normalized().
_ADJUSTED_ALIASES = {
    f"{prefix}{base}": f"adj_{base}"
    for prefix in ("adj", "adjusted")
    for base in (*_PRICES, "volume")
}
_ADJUSTED_PRICES = tuple(f"adj_{name}" for name in _PRICES)
_EXAMPLE_HEADER = "timestamp,open,high,low,close,volume"
_CSV_SUFFIXES = (".csv", ".csv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
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


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Validated bars plus what was done to them (repairs, precision notes).

    ``source`` is the file that was read (a sample's packaged path for samples).
    """

    bars: BarSeries
    warnings: list[str] = field(default_factory=list)
    source: str = ""


@dataclass(frozen=True, slots=True)
class _Columns:
    """Parsed columns of one file, before validation."""

    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    lines: IntArray | None  # 1-based file line of each row; None for Parquet (no lines)
    # Adjusted-price columns found in the file (role -> values), see _ADJUSTED_ALIASES.
    adjusted: dict[str, FloatArray] = field(default_factory=dict)
    header: dict[str, str] = field(default_factory=dict)  # role -> name in the file


class _BadValue(Exception):
    """An unparsable value at ``index`` of the column being converted."""

    def __init__(self, index: int, value: str, why: str = "") -> None:
        super().__init__(value)
        self.index = index
        self.value = value
        self.why = why


# --- entry point ----------------------------------------------------------------------


def load_bars(
    path_or_symbol: str | os.PathLike[str],
    *,
    timeframe: str | None = None,
    symbol: str | None = None,
    repair: bool = False,
    tick_size: Decimal | None = None,
    lot_size: Decimal | None = None,
) -> LoadResult:
    """Load bars from a file or a bundled sample, validated; the full rules are in the module doc.

    ``path_or_symbol`` is an existing ``.csv``, ``.csv.gz`` or ``.parquet`` file, else a
    sample symbol in any case (``"goog"``). ``timeframe`` (``"1h"``) is checked against the
    data, and inferred from it when omitted. ``symbol``, ``tick_size`` and ``lot_size``
    override what is inferred. ``repair`` sorts rows by time and drops duplicate timestamps
    (keeping the last), each kind of repair reported in ``LoadResult.warnings``.

    Raises ``DataError`` (file, line, reason) for a missing, unreadable or invalid file or an
    unknown symbol, and ``ConfigError`` for a malformed timeframe or instrument option.
    """
    given_timeframe = Timeframe.parse(timeframe) if timeframe is not None else None
    text = os.fspath(path_or_symbol)
    path = Path(text).expanduser()
    if path.is_file():
        return _load_file(
            path,
            timeframe=given_timeframe,
            symbol=symbol,
            repair=repair,
            tick_size=tick_size,
            lot_size=lot_size,
        )
    if samples.is_sample(text):
        return _load_sample(
            text,
            timeframe=given_timeframe,
            symbol=symbol,
            repair=repair,
            tick_size=tick_size,
            lot_size=lot_size,
        )
    if path.exists():
        raise DataError("not a regular file (a directory?)", path=text)
    if _looks_like_path(text):
        raise DataError("file not found", path=text)
    raise DataError(
        f"{text!r} is neither a data file nor a bundled sample; samples: "
        f"{', '.join(samples.sample_symbols())}; or give the path to a "
        ".csv, .csv.gz or .parquet file"
    )


def _looks_like_path(text: str) -> bool:
    lowered = text.lower()
    return (
        "/" in text
        or "\\" in text
        or lowered.endswith((*_CSV_SUFFIXES, *_PARQUET_SUFFIXES, ".gz", ".txt"))
    )


def _load_sample(
    name: str,
    *,
    timeframe: Timeframe | None,
    symbol: str | None,
    repair: bool,
    tick_size: Decimal | None,
    lot_size: Decimal | None,
) -> LoadResult:
    entry = samples.sample_path(name)
    source = str(entry)
    # Traversable.open has no newline argument; the csv module wants newline="".
    with io.TextIOWrapper(entry.open("rb"), encoding="utf-8", newline="") as stream:
        columns = _read_csv(stream, source)
    instrument = samples.sample_instrument(name)
    changes: dict[str, Any] = {}
    if symbol is not None:
        changes["symbol"] = symbol
    if tick_size is not None:
        changes["tick_size"] = Decimal(str(tick_size))
    if lot_size is not None:
        changes["lot_size"] = Decimal(str(lot_size))
    if changes:
        instrument = replace(instrument, **changes)  # re-validated by Instrument
    columns, notes = _adjust(columns, source, repair=repair)
    columns, repaired = _validate(columns, source, repair=repair, tick=instrument.tick_size)
    notes.extend(repaired)
    frame = _resolve_timeframe(columns.ts, timeframe or samples.sample_timeframe(name), source)
    if tick_size is not None:
        notes.extend(_precision_notes(columns, instrument))
    return LoadResult(_series(instrument, frame, columns), notes, source)


def _load_file(
    path: Path,
    *,
    timeframe: Timeframe | None,
    symbol: str | None,
    repair: bool,
    tick_size: Decimal | None,
    lot_size: Decimal | None,
) -> LoadResult:
    source = str(path)
    lowered = path.name.lower()
    if lowered.endswith(_PARQUET_SUFFIXES):
        columns = _read_parquet(path, source)
    elif lowered.endswith(_CSV_SUFFIXES):
        columns = _read_csv_file(path, source)
    else:
        raise DataError(
            f"unsupported file type {path.suffix!r}; use .csv, .csv.gz or .parquet",
            path=source,
        )
    columns, notes = _adjust(columns, source, repair=repair)
    if tick_size is None:
        # NaN and infinite prices do not count here; the row rules report them below.
        prices = (columns.open, columns.high, columns.low, columns.close)
        tick = infer_tick_size(price_decimals(*prices))
    else:
        tick = _checked_tick(tick_size)
    columns, repaired = _validate(columns, source, repair=repair, tick=tick)
    notes.extend(repaired)
    frame = _resolve_timeframe(columns.ts, timeframe, source)

    name = symbol if symbol is not None else _symbol_from_name(path.name)
    asset_class, calendar = guess_market(columns.ts, frame)
    instrument = Instrument(
        symbol=name,
        tick_size=tick,
        lot_size=Decimal("1") if lot_size is None else Decimal(str(lot_size)),
        asset_class=asset_class,
        currency=_quote_currency(name, asset_class),
        calendar=calendar,
    )
    if tick_size is not None:
        notes.extend(_precision_notes(columns, instrument))
    return LoadResult(_series(instrument, frame, columns), notes, source)


def _checked_tick(tick_size: Decimal) -> Decimal:
    # str(): a float 0.1 must not become 0.1000000000000000055.
    tick = Decimal(str(tick_size))
    if not tick.is_finite() or tick <= 0:
        # Checked before the rows: every price is measured in ticks.
        raise ConfigError(f"tick_size must be > 0, got {tick_size}")
    return tick


def _series(instrument: Instrument, frame: Timeframe, columns: _Columns) -> BarSeries:
    return BarSeries(
        instrument,
        frame,
        columns.ts,
        columns.open,
        columns.high,
        columns.low,
        columns.close,
        columns.volume,
    )


def _symbol_from_name(file_name: str) -> str:
    stem = file_name
    for suffix in (*_CSV_SUFFIXES[::-1], *_PARQUET_SUFFIXES):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    # "_1d.csv" has an empty prefix: fall back to the whole stem rather than no symbol.
    return (stem.split("_", 1)[0] or stem.strip("_") or stem).upper()


def _quote_currency(symbol: str, asset_class: AssetClass) -> str:
    """Quote currency from a pair symbol (EURUSD, BTC-USD, ETH/USDT); USD when unsure."""
    if asset_class is AssetClass.EQUITY:
        return "USD"
    upper = symbol.upper()
    for separator in ("/", "-"):
        if separator in upper:
            return upper.rsplit(separator, 1)[1] or "USD"
    if asset_class is AssetClass.FX and len(upper) == 6 and upper.isalpha():
        return upper[3:]
    for quote in ("USDT", "USDC", "USD", "EUR", "BTC", "ETH"):
        if upper.endswith(quote) and len(upper) > len(quote):
            return quote
    return "USD"


def _precision_notes(columns: _Columns, instrument: Instrument) -> list[str]:
    """Warn when a given tick is coarser than the prices in the file."""
    decimals = price_decimals(columns.open, columns.high, columns.low, columns.close)
    if decimals > instrument.price_decimals:
        return [
            f"prices have up to {decimals} decimals but tick_size is {instrument.tick_size}: "
            "orders and reports will round them to the tick"
        ]
    return []


# --- validation, repair and timeframe -------------------------------------------------


def _validate(
    columns: _Columns, source: str, *, repair: bool, tick: Decimal | None
) -> tuple[_Columns, list[str]]:
    """Apply the row rules (rule 7 at ``tick``); with ``repair``, sort and de-duplicate
    after the value rules."""
    c = columns
    problem = find_problem(
        c.ts, c.open, c.high, c.low, c.close, c.volume, check_order=not repair, tick=tick
    )
    if problem is not None:
        reason = problem.reason
        if problem.kind in (ProblemKind.DUPLICATE, ProblemKind.ORDER):
            reason += " (repair=True sorts rows and drops duplicate timestamps)"
        raise _row_error(c, source, problem.index, reason)
    if not repair:
        return c, []
    ts, (o, h, lo, cl, v), notes = repair_order(c.ts, c.open, c.high, c.low, c.close, c.volume)
    # Line numbers refer to the original order and mean nothing after a sort.
    return _Columns(ts, o, h, lo, cl, v, None), notes


def _adjust(columns: _Columns, source: str, *, repair: bool) -> tuple[_Columns, list[str]]:
    """Replace the prices by adjusted ones when the file has adjusted columns.

    The file's own prices are checked first (rules 1-6, so a bad row is reported as the
    file wrote it), then the adjusted column. A full set (adjusted open, high, low and
    close) is used as it is; an adjusted close alone scales open, high and low by
    ``adjusted close / close`` (:func:`.validation.adjust_by_close`). An adjusted volume
    replaces the volume; otherwise the volume stays as traded.
    """
    adjusted = columns.adjusted
    if not adjusted:
        return columns, []
    c = columns
    problem = find_problem(c.ts, c.open, c.high, c.low, c.close, c.volume, check_order=not repair)
    if problem is None:
        problem = find_adjusted_problem(adjusted, c.header)
    if problem is not None:
        raise _row_error(c, source, problem.index, problem.reason)
    volume = adjusted.get("adj_volume", c.volume)
    names = c.header
    if all(role in adjusted for role in _ADJUSTED_PRICES):
        o, h, lo, cl = (adjusted[role] for role in _ADJUSTED_PRICES)
        how = (f"{', '.join(names[role] for role in _ADJUSTED_PRICES)} used as the prices "
               "(adjusted for splits and dividends)")
    else:
        o, h, lo, cl = adjust_by_close(c.open, c.high, c.low, c.close, adjusted["adj_close"])
        how = (f"open, high, low and close scaled by {names['adj_close']} / "
               f"{names['close']} (adjusted for splits and dividends)")
    if "adj_volume" in adjusted:
        how += f", volume from {names['adj_volume']}"
    # Rounding to the file's decimals can take a tiny adjusted price to zero.
    problem = find_problem(c.ts, o, h, lo, cl, volume, check_order=False)
    if problem is not None:
        raise _row_error(c, source, problem.index, f"after adjusting ({how}): {problem.reason}")
    changed = int(np.count_nonzero((o != c.open) | (h != c.high) | (lo != c.low)
                                   | (cl != c.close)))
    note = (f"adjusted prices: {how}; {changed} of {len(c.ts)} bars differ from the "
            "prices as traded; remove the adjusted columns to use those instead")
    return replace(c, open=o, high=h, low=lo, close=cl, volume=volume, adjusted={}), [note]


def _row_error(columns: _Columns, source: str, index: int, reason: str) -> DataError:
    if columns.lines is None:
        return DataError(f"row {index + 1}: {reason}", path=source)
    return DataError(reason, path=source, line=int(columns.lines[index]))


def _resolve_timeframe(ts: IntArray, timeframe: Timeframe | None, source: str) -> Timeframe:
    if timeframe is not None:
        why = timeframe_mismatch(ts, timeframe)
        if why is not None:
            raise DataError(why, path=source)
        return timeframe
    spacing = median_spacing(ts)
    if spacing is None:
        raise DataError(
            "cannot infer the timeframe from a single bar; pass a timeframe such as '1d'",
            path=source,
        )
    found = timeframe_for_spacing(spacing)
    if found is None:
        raise DataError(
            f"cannot infer the timeframe: bars are {spacing} ns apart (median), not a whole "
            "number of seconds; pass a timeframe",
            path=source,
        )
    return found


# --- CSV ------------------------------------------------------------------------------


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


def _check_adjustment_columns(
    names: Sequence[str],
    normalized: list[str],
    layout: dict[str, int],
    source: str,
    line: int | None,
) -> None:
    unknown = [
        name.strip()
        for name, key in zip(names, normalized, strict=True)
        if key.startswith("adj") and key not in _ADJUSTED_ALIASES
    ]
    adjusted = [role for role in layout if role.startswith("adj_")]
    if adjusted and "adj_close" not in layout:
        unknown += [names[layout[role]].strip() for role in adjusted]
    if unknown:
        raise DataError(
            f"column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            "look like a price adjustment that cannot be applied: give an adjusted close "
            "column (Adj Close), or all of adjusted open, high, low and close, or remove "
            "the column to use the prices as they are",
            path=source,
            line=line,
        )


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


# --- Parquet --------------------------------------------------------------------------


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
