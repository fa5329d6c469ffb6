"""The bar store: idempotent bulk writes and fast range reads of OHLCV bars.

A write is one transaction: the instrument row, a per-instrument write lock, a read of
the stored bars in the incoming time range, an exact comparison (``bar_codec``), then only
the new and changed bars are written through the engine's bulk path. Re-importing a file
therefore writes nothing, and any failure leaves the database as it was.

Reads return a ``BarSeries`` built from numpy arrays without a Python object per bar.
Bounds are inclusive and in UTC: ``int`` nanoseconds or ``datetime`` (naive means UTC).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine

from trading_strategy.core.bar_checks import find_problem
from trading_strategy.core.bars import (
    BarSeries,
    IntArray,
    datetime_to_ns,
    format_ts,
    ns_to_datetime,
)
from trading_strategy.core.errors import ConfigError, DataError
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.storage import _pg_bars, _sqlite_bars
from trading_strategy.storage.bar_codec import BoolArray, ExactBars, PriceGrid, plan_write
from trading_strategy.storage.bar_columns import StoredColumns
from trading_strategy.storage.coverage import Coverage, compute_coverage
from trading_strategy.storage.engine import is_postgresql
from trading_strategy.storage.errors import translate_errors
from trading_strategy.storage.instruments import StoredInstrument, ensure, lookup
from trading_strategy.storage.resample import check_resample, resample_columns
from trading_strategy.storage.tables import BarRow, InstrumentRow
from trading_strategy.storage.transactions import reading, writing

__all__ = ["BarStore", "SeriesInfo", "TimeBound", "WriteResult", "to_ns"]

log = logging.getLogger(__name__)

TimeBound = int | datetime | None
_MIN_NS = -(2**63) + 1
_MAX_NS = 2**63 - 1
_LOGGED_CHANGES = 20  # changed bars logged one by one; the rest are counted


@dataclass(frozen=True, slots=True)
class WriteResult:
    inserted: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One stored (symbol, timeframe) series."""

    symbol: str
    timeframe: Timeframe
    bars: int
    first_ns: int
    last_ns: int


def to_ns(value: TimeBound, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, datetime):
        return datetime_to_ns(value)
    return int(value)


def _timeframe(value: Timeframe | str) -> Timeframe:
    return value if isinstance(value, Timeframe) else Timeframe.parse(value)


class BarStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- writing ----------------------------------------------------------------------

    def write_bars(self, instrument: Instrument, timeframe: Timeframe | str, bars: BarSeries,
                   *, given: Collection[str] = (), source: str | None = None
                   ) -> WriteResult:
        """Upsert ``bars`` of ``instrument``; counts of inserted, updated, unchanged bars.

        ``source`` names who supplied the bars (a live provider, a backfill's provider;
        ``None`` for a file import) and is stored with each inserted or changed bar. A bar
        is its open time: one provider's bar written again by another, with the same
        values, is unchanged and keeps the source that stored it first.

        Prices are stored exactly, rounded to the instrument's tick (the stored tick if
        the instrument exists and is finer). ``given`` names the instrument's sizes the
        user set explicitly (``"tick_size"``, ``"lot_size"``): they replace the stored
        ones (see :func:`.instruments.ensure`). Each changed bar is logged (old → new).
        Raises ``DataError`` for invalid bars (the rules of ``core.bar_checks``,
        including a price that rounds to zero ticks or is too large to hold exactly at
        the tick it is stored with); nothing is written then.
        """
        frame = _timeframe(timeframe)
        if bars.timeframe != frame:
            raise ConfigError(f"bars are {bars.timeframe} but timeframe {frame} was given")
        if len(bars) == 0:
            return WriteResult(0, 0, 0)
        _check(instrument, frame, bars, instrument.tick_size)
        postgres = is_postgresql(self._engine)
        with writing(self._engine) as connection:
            stored = ensure(connection, instrument, given=given)
            if postgres:
                _pg_bars.lock_series(connection, stored.id)
            result, changes = self._write(connection, stored, frame, bars, postgres,
                                          checked=instrument.tick_size, source=source)
        for message in changes:  # after the commit: only changes that happened
            log.info("bar changed: %s", message)
        log.info("stored %s %s: %d inserted, %d updated, %d unchanged",
                 stored.instrument.symbol, frame, result.inserted, result.updated,
                 result.unchanged)
        return result

    def _write(self, connection: Connection, stored: StoredInstrument, frame: Timeframe,
               bars: BarSeries, postgres: bool, *, checked: Decimal,
               source: str | None = None) -> tuple[WriteResult, list[str]]:
        backend = _pg_bars if postgres else _sqlite_bars
        existing = backend.read(connection, stored.id, str(frame), bars.start, bars.end)
        tick = stored.instrument.tick_size
        if tick != checked:
            # The stored tick can differ (see instruments.ensure): a price must not round to
            # zero there either. Raising here rolls the whole write back.
            _check(stored.instrument, frame, bars, tick)
        grid = PriceGrid.for_tick(tick)
        incoming = ExactBars.from_floats(
            grid, bars.ts, (bars.open, bars.high, bars.low, bars.close), bars.volume)
        old = ExactBars.from_floats(
            grid, existing.ts,
            (existing.open, existing.high, existing.low, existing.close), existing.volume)
        plan = plan_write(incoming, old)
        changes = _describe_changes(stored.instrument.symbol, frame, incoming, old,
                                    plan.changed, plan.stored_index)
        if postgres:
            _pg_bars.write(connection, stored.id, str(frame), incoming.take(plan.new),
                           incoming.take(plan.changed), source)
        elif plan.new.any() or plan.changed.any():
            _sqlite_bars.write(connection, stored.id, str(frame),
                               incoming.take(plan.new | plan.changed), source)
        result = WriteResult(int(plan.new.sum()), int(plan.changed.sum()), plan.unchanged)
        return result, changes

    # --- reading ----------------------------------------------------------------------

    def read_bars(self, symbol: str, timeframe: Timeframe | str | None = None,
                  start: TimeBound = None, end: TimeBound = None) -> BarSeries:
        """Stored bars with ``start <= ts <= end`` in time order (possibly none).

        ``timeframe=None`` picks the symbol's only stored timeframe. A timeframe that is
        not stored but can be made from a stored one (``1w`` or ``1mo`` from ``1d``, ``1h``
        from ``1m``) is resampled from the coarsest such (see :meth:`resample`; ``start``
        and ``end`` then select the source bars). Raises ``DataError`` when nothing is
        stored for the symbol that gives the timeframe.
        """
        source = self._resample_source(symbol, timeframe)
        if source is not None:
            return self.resample(symbol, source, timeframe or source, start, end)
        stored, frame = self._series(symbol, timeframe)
        lo, hi = to_ns(start, _MIN_NS), to_ns(end, _MAX_NS)
        columns = self._read(stored.id, frame, lo, hi)
        return columns.series(stored.instrument, frame)

    def _resample_source(self, symbol: str, timeframe: Timeframe | str | None
                         ) -> Timeframe | None:
        """The stored timeframe to resample to ``timeframe`` when that one is not stored."""
        if timeframe is None:
            return None
        wanted = _timeframe(timeframe)
        frames = self.timeframes(symbol)
        if wanted in frames:
            return None
        for frame in reversed(frames):  # the coarsest first: fewest rows to aggregate
            try:
                check_resample(frame, wanted)
            except ConfigError:
                continue
            return frame
        return None

    def _read(self, instrument_id: int, frame: Timeframe, lo: int, hi: int) -> StoredColumns:
        if is_postgresql(self._engine):
            with translate_errors(self._engine.url):
                return _pg_bars.read_parallel(self._engine, instrument_id, str(frame),
                                              frame.nanoseconds, lo, hi)
        with reading(self._engine) as connection:
            return _sqlite_bars.read(connection, instrument_id, str(frame), lo, hi)

    def read_timestamps(self, symbol: str, timeframe: Timeframe | str,
                        start: TimeBound = None, end: TimeBound = None) -> IntArray:
        """Only the bar open times (int64 ns), e.g. for coverage reports."""
        stored, frame = self._series(symbol, timeframe)
        lo, hi = to_ns(start, _MIN_NS), to_ns(end, _MAX_NS)
        with reading(self._engine) as connection:
            if is_postgresql(connection):
                return _pg_bars.read_ts(connection, stored.id, str(frame), lo, hi)
            return _sqlite_bars.read_ts(connection, stored.id, str(frame), lo, hi)

    def read_sources(self, symbol: str, timeframe: Timeframe | str,
                     start: TimeBound = None, end: TimeBound = None
                     ) -> list[tuple[int, str | None]]:
        """``(open time ns, source)`` of each stored bar in the range, in time order
        (``None``: imported from a file, or stored before sources were recorded)."""
        stored, frame = self._series(symbol, timeframe)
        query = (select(BarRow.ts, BarRow.source)
                 .where(BarRow.instrument_id == stored.id, BarRow.timeframe == str(frame))
                 .order_by(BarRow.ts))
        if start is not None:
            query = query.where(BarRow.ts >= ns_to_datetime(to_ns(start, _MIN_NS)))
        if end is not None:
            query = query.where(BarRow.ts <= ns_to_datetime(to_ns(end, _MAX_NS)))
        with reading(self._engine) as connection:
            return [(datetime_to_ns(ts), source)
                    for ts, source in connection.execute(query).all()]

    def resample(self, symbol: str, from_timeframe: Timeframe | str,
                 to_timeframe: Timeframe | str, start: TimeBound = None, end: TimeBound = None
                 ) -> BarSeries:
        """``from_timeframe`` bars aggregated in SQL to ``to_timeframe`` (UTC-aligned buckets).

        Open of the first bar, highest high, lowest low, close of the last bar, summed
        volume; see :mod:`.resample` for bucket alignment. ``start``/``end`` select the
        source bars.
        """
        target = _timeframe(to_timeframe)
        stored, source = self._series(symbol, from_timeframe)
        check_resample(source, target)
        lo, hi = to_ns(start, _MIN_NS), to_ns(end, _MAX_NS)
        with reading(self._engine) as connection:
            columns = resample_columns(connection, stored.id, source, target, lo, hi)
        return columns.series(stored.instrument, target)

    def coverage(self, symbol: str, timeframe: Timeframe | str) -> Coverage:
        """Contiguous ranges and gaps of a stored series (see :mod:`.coverage`)."""
        stored, frame = self._series(symbol, timeframe)
        ts = self.read_timestamps(stored.instrument.symbol, frame)
        return compute_coverage(stored.instrument.symbol, frame, stored.instrument.calendar, ts)

    def instrument(self, symbol: str) -> Instrument:
        with reading(self._engine) as connection:
            return _require_instrument(connection, symbol).instrument

    def timeframes(self, symbol: str) -> list[Timeframe]:
        """Timeframes stored for ``symbol``, shortest first (empty if none)."""
        with reading(self._engine) as connection:
            stored = lookup(connection, symbol)
            if stored is None:
                return []
            return _timeframes(connection, stored.id)

    def series(self, symbol: str | None = None) -> list[SeriesInfo]:
        """Every stored series (or those of ``symbol``): bar count and first/last bar."""
        query = (
            select(InstrumentRow.symbol, BarRow.timeframe, func.count(),
                   func.min(BarRow.ts), func.max(BarRow.ts))
            .join(InstrumentRow, InstrumentRow.id == BarRow.instrument_id)
            .group_by(InstrumentRow.symbol, BarRow.timeframe)
            .order_by(InstrumentRow.symbol, BarRow.timeframe)
        )
        if symbol is not None:
            query = query.where(func.lower(InstrumentRow.symbol) == symbol.strip().lower())
        with reading(self._engine) as connection:
            rows = connection.execute(query).all()
        return [SeriesInfo(name, Timeframe.parse(frame), int(count), datetime_to_ns(first),
                           datetime_to_ns(last)) for name, frame, count, first, last in rows]

    def _series(self, symbol: str, timeframe: Timeframe | str | None
                ) -> tuple[StoredInstrument, Timeframe]:
        with reading(self._engine) as connection:
            stored = _require_instrument(connection, symbol)
            frames = _timeframes(connection, stored.id)
        name = stored.instrument.symbol
        if timeframe is None:
            if len(frames) == 1:
                return stored, frames[0]
            listed = ", ".join(map(str, frames)) or "none"
            raise DataError(f"{name} is stored at several timeframes ({listed}): choose one"
                            if frames else f"no bars stored for {name}")
        frame = _timeframe(timeframe)
        if frame not in frames:
            listed = ", ".join(map(str, frames)) or "none"
            raise DataError(
                f"no {frame} bars stored for {name} (stored timeframes: {listed}); import "
                f"with: trading-strategy data import FILE --symbol {name} --timeframe {frame}")
        return stored, frame


def _check(instrument: Instrument, frame: Timeframe, bars: BarSeries, tick: Decimal) -> None:
    problem = find_problem(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume,
                           tick=tick)
    if problem is not None:
        when = format_ts(int(bars.ts[problem.index]), frame)
        raise DataError(f"bar {problem.index + 1} ({when}) of {instrument.symbol} {frame}: "
                        f"{problem.reason}")


def _require_instrument(connection: Connection, symbol: str) -> StoredInstrument:
    stored = lookup(connection, symbol)
    if stored is None:
        raise DataError(f"no data stored for symbol {symbol!r}; see `trading-strategy data "
                        "list`, or import a file with `trading-strategy data import`")
    return stored


# A loose index scan: each step seeks the next timeframe in the primary key instead of
# reading every bar of the instrument (DISTINCT would scan all of them).
_TIMEFRAMES_SQL = text("""
WITH RECURSIVE frames(tf) AS (
    SELECT min(timeframe) FROM bars WHERE instrument_id = :iid
    UNION ALL
    SELECT (SELECT min(timeframe) FROM bars WHERE instrument_id = :iid AND timeframe > frames.tf)
    FROM frames WHERE frames.tf IS NOT NULL
)
SELECT tf FROM frames WHERE tf IS NOT NULL""")


def _timeframes(connection: Connection, instrument_id: int) -> list[Timeframe]:
    rows = connection.execute(_TIMEFRAMES_SQL, {"iid": instrument_id}).scalars()
    return sorted((Timeframe.parse(value) for value in rows), key=lambda f: f.nanoseconds)


def _describe_changes(symbol: str, frame: Timeframe, new: ExactBars, old: ExactBars,
                      changed: BoolArray, stored_index: IntArray) -> list[str]:
    """One line per changed bar (old -> new values), the first few; then a count."""
    positions = np.flatnonzero(changed)
    lines = []
    for i in positions[:_LOGGED_CHANGES]:
        before, after = old.describe(int(stored_index[i])), new.describe(int(i))
        diffs = ", ".join(f"{key} {before[key]} -> {after[key]}" for key in after
                          if before[key] != after[key])
        lines.append(f"{symbol} {frame} {format_ts(int(new.ts[i]), frame)}: {diffs}")
    if len(positions) > _LOGGED_CHANGES:
        lines.append(f"{symbol} {frame}: {len(positions) - _LOGGED_CHANGES} more changed bars "
                     "not listed")
    return lines
