"""Load OHLCV bars from a CSV or Parquet file, or a bundled sample, into a ``BarSeries``.

:func:`load_bars` is the one entry point. Its rules:

**What is loaded.** An argument naming an existing file is loaded by its suffix: ``.csv``,
``.csv.gz``, ``.txt`` or ``.txt.gz`` (text files: MetaTrader exports are tab-separated
``.txt``) or ``.parquet`` (``.pq``). Otherwise it is looked up as a bundled sample symbol
(any case: ``"goog"``); otherwise ``DataError`` lists the samples.

**Columns.** A header is required; names are matched ignoring case, spaces, ``.``, ``_``,
``-`` and ``*``: ``timestamp`` (or ``datetime``, ``date``, ``time``), ``open``, ``high``,
``low``, ``close`` and optionally ``volume`` (zeros when absent). Other columns are ignored,
except adjustments. Blank lines are skipped; a UTF-8 byte-order mark is allowed.

**Other layouts** (:mod:`.formats`, the ``fmt`` argument): a column mapping, roles by
position for header-less files, the delimiter, a strptime-style date format, the time zone
of naive times, or a preset (yahoo, binance, mt4, mt5, semicolon, us-dates). Without them,
unambiguous shapes are detected (tab or semicolon delimiters, decimal commas, Binance and
MetaTrader files, dotted/slashed dates, separate date and time columns) and
``LoadResult.format`` says what was; ``01/02/2024`` with no day above 12 is refused.

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
bars with weekend gaps). Monthly bars (one per calendar month, however keyed) are ``1mo``
(:mod:`._monthly`).

**Instrument**: for samples, :func:`.samples.sample_instrument`. For files: symbol from the
``symbol`` argument, else the file name up to the first ``_``, upper-cased
(``goog_1d.csv`` → ``GOOG``); tick size from the argument, else the fewest decimals that
write every price exactly (:func:`.validation.price_decimals`, capped at 8); lot size 1;
asset class and calendar by :func:`.validation.guess_market` (bars on Saturday and Sunday:
crypto 24/7; intraday bars on Sunday only, or on weekdays around the clock: FX; otherwise US
equity).

**Reading a CSV file**: with pyarrow installed, a file of 1 MB or more is parsed by pyarrow's
vectorized reader (:mod:`._arrow_csv`) when it can read the file exactly as the strict reader
(:mod:`._csv`) does — same values bit for bit, same notes; on anything else (quotes, blank
lines, a bad value, unusual timestamps) the strict reader reads it and names the line. A
smaller file is read by the strict reader, so loading one does not pay for importing pyarrow.

This module holds the entry points (:func:`load_bars`, and :func:`load_table` for an
in-memory Arrow table), sample/file dispatch, validation and repair, the timeframe and the
instrument. Reading is in :mod:`._csv` (its fast path :mod:`._arrow_csv`) and
:mod:`._parquet` (columns by
:mod:`._layout`, dates by :mod:`._dates`), adjusted prices in :mod:`._adjusted`, and the
types they share in :mod:`._columns`.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from trading_strategy.core.bars import BarSeries, IntArray
from trading_strategy.core.errors import ConfigError, DataError
from trading_strategy.core.instrument import AssetClass, Instrument, infer_tick_size
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.market_data import samples
from trading_strategy.market_data._adjusted import _adjust
from trading_strategy.market_data._arrow_csv import read_csv_fast
from trading_strategy.market_data._columns import _Columns, _row_error
from trading_strategy.market_data._csv import _read_csv, _read_csv_file
from trading_strategy.market_data._monthly import monthly_mismatch, months_apart
from trading_strategy.market_data._parquet import _read_arrow_table, _read_parquet
from trading_strategy.market_data.formats import FileFormat
from trading_strategy.market_data.validation import (
    ProblemKind,
    find_problem,
    guess_market,
    median_spacing,
    price_decimals,
    repair_order,
    timeframe_for_spacing,
    timeframe_mismatch,
)

__all__ = ["FileFormat", "LoadResult", "load_bars", "load_table"]

#: delimited text files (read alike; MetaTrader exports are tab-separated .txt)
_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Validated bars plus what was done to them (repairs, precision notes).

    ``source`` is the file that was read (a sample's packaged path for samples).
    ``format`` says what was recognised or detected about the layout ("semicolon-separated
    (detected); dates read as '%d.%m.%Y' (detected)"); empty for the plain layout.
    """

    bars: BarSeries
    warnings: list[str] = field(default_factory=list)
    source: str = ""
    format: str = ""


# --- entry point ----------------------------------------------------------------------


def load_bars(
    path_or_symbol: str | os.PathLike[str],
    *,
    timeframe: str | None = None,
    symbol: str | None = None,
    repair: bool = False,
    tick_size: Decimal | None = None,
    lot_size: Decimal | None = None,
    fmt: FileFormat | None = None,
) -> LoadResult:
    """Load bars from a file or a bundled sample, validated; the full rules are in the module doc.

    ``path_or_symbol`` is an existing ``.csv``, ``.txt`` (either maybe ``.gz``) or
    ``.parquet`` file, else a
    sample symbol in any case (``"goog"``). ``timeframe`` (``"1h"``) is checked against the
    data, and inferred from it when omitted. ``symbol``, ``tick_size`` and ``lot_size``
    override what is inferred. ``repair`` sorts rows by time and drops duplicate timestamps
    (keeping the last), each kind of repair reported in ``LoadResult.warnings``. ``fmt``
    (:func:`.formats.file_format`) gives the column mapping, delimiter, date format, time
    zone or a preset; what is not given is detected and told in ``LoadResult.format``.

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
            fmt=fmt,
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
        ".csv, .txt (maybe .gz) or .parquet file"
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


def load_table(
    table: Any,
    *,
    symbol: str,
    source: str = "table",
    timeframe: str | None = None,
    repair: bool = False,
    tick_size: Decimal | None = None,
    lot_size: Decimal | None = None,
    fmt: FileFormat | None = None,
) -> LoadResult:
    """Bars from an in-memory ``pyarrow.Table`` by the Parquet rules, without a file.

    Columns are matched by name as in a file (``fmt.columns`` maps other names); errors
    name ``source`` and the 1-based row. The other arguments are those of
    :func:`load_bars`; ``symbol`` is required (there is no file name to take it from).
    """
    given_timeframe = Timeframe.parse(timeframe) if timeframe is not None else None
    columns = _read_arrow_table(table, source, fmt)
    return _load_columns(columns, source, symbol=symbol, timeframe=given_timeframe,
                         repair=repair, tick_size=tick_size, lot_size=lot_size)


def _load_file(
    path: Path,
    *,
    timeframe: Timeframe | None,
    symbol: str | None,
    repair: bool,
    tick_size: Decimal | None,
    lot_size: Decimal | None,
    fmt: FileFormat | None = None,
) -> LoadResult:
    source = str(path)
    lowered = path.name.lower()
    if lowered.endswith(_PARQUET_SUFFIXES):
        columns = _read_parquet(path, source, fmt)
    elif lowered.endswith(_CSV_SUFFIXES):
        fast = read_csv_fast(path, source, fmt or FileFormat())
        columns = fast if fast is not None else _read_csv_file(path, source, fmt)
    else:
        raise DataError(
            f"unsupported file type {path.suffix!r}; use .csv, .txt (maybe .gz) or .parquet",
            path=source,
        )
    name = symbol if symbol is not None else _symbol_from_name(path.name)
    return _load_columns(columns, source, symbol=name, timeframe=timeframe, repair=repair,
                         tick_size=tick_size, lot_size=lot_size)


def _load_columns(
    columns: _Columns,
    source: str,
    *,
    symbol: str,
    timeframe: Timeframe | None,
    repair: bool,
    tick_size: Decimal | None,
    lot_size: Decimal | None,
) -> LoadResult:
    """Adjust, validate and repair read columns; the timeframe and the instrument."""
    described = "; ".join(columns.notes)
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

    name = symbol
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
    return LoadResult(_series(instrument, frame, columns), notes, source, described)


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
    for suffix in (*sorted(_CSV_SUFFIXES, key=len, reverse=True), *_PARQUET_SUFFIXES):
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


def _resolve_timeframe(ts: IntArray, timeframe: Timeframe | None, source: str) -> Timeframe:
    if timeframe is not None:
        if timeframe.is_monthly:
            why = monthly_mismatch(ts, timeframe)
        else:
            why = timeframe_mismatch(ts, timeframe)
            if why is not None and months_apart(ts) is not None:
                why += f" (or {months_apart(ts)}mo: calendar months)"
        if why is not None:
            raise DataError(why, path=source)
        return timeframe
    months = months_apart(ts)
    if months is not None:
        return Timeframe(months, "mo")
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
