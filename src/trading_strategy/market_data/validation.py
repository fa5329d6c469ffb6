"""OHLCV repairs and inference over numpy columns (pure, no I/O), and the row rules.

Shared by the file loader (``files.py``) and any other importer, so every path into the
system accepts and rejects the same bars. The row rules themselves (:func:`find_problem`,
rules 1-7) live in :mod:`trading_strategy.core.bar_checks`, where the database layer applies
them too; they are re-exported here for the loaders.

Prices are never invented or clipped: the only repair offered (:func:`repair_order`)
reorders rows and drops duplicate timestamps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from trading_strategy.core.bar_checks import (
    EXACT_LIMIT,
    Problem,
    ProblemKind,
    find_adjusted_problem,
    find_problem,
    price_limit,
)
from trading_strategy.core.bars import FloatArray, IntArray
from trading_strategy.core.instrument import AssetClass, Calendar
from trading_strategy.core.timeframe import Timeframe

__all__ = [
    "EXACT_LIMIT",
    "Problem",
    "ProblemKind",
    "adjust_by_close",
    "find_adjusted_problem",
    "find_problem",
    "guess_market",
    "median_spacing",
    "price_decimals",
    "price_limit",
    "repair_order",
    "timeframe_for_spacing",
    "timeframe_mismatch",
]

_SECOND_NS = 1_000_000_000
_DAY_NS = 86_400 * _SECOND_NS
_HOUR_NS = 3_600 * _SECOND_NS
# Largest unit first, so 7 days reads "1w" and 60 minutes reads "1h".
_UNITS_NS: tuple[tuple[str, int], ...] = (
    ("w", 7 * _DAY_NS),
    ("d", _DAY_NS),
    ("h", 3_600 * _SECOND_NS),
    ("m", 60 * _SECOND_NS),
    ("s", _SECOND_NS),
)
_SATURDAY, _SUNDAY = 5, 6  # Monday = 0
_DECIMALS_SAMPLE = 10_000


def adjust_by_close(
    open: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray, adj_close: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Open, high and low scaled by ``adj_close / close``; the close becomes ``adj_close``.

    Computed in float64: a value within float error of a half unit may round either way.

    This is how Yahoo's adjusted close is defined (one factor per day for splits and
    dividends), so applying it to the whole bar gives the adjusted bar. The results are
    rounded to the decimals of the inputs (the most of the adjusted close and the prices):
    more would be float noise and would push the inferred tick to 1e-8. Rounding is
    monotonic, so a valid bar stays valid (high >= open, close >= low). All inputs must
    be finite and positive (check with :func:`find_problem` first).
    """
    decimals = max(price_decimals(adj_close), price_decimals(open, high, low, close))
    ratio = adj_close / close

    def scaled(column: FloatArray) -> FloatArray:
        exact = column * ratio
        with np.errstate(over="ignore", invalid="ignore"):
            rounded: FloatArray = np.round(exact, decimals)
        # np.round scales by 10**decimals first: a huge price overflows there. Keep such a
        # value unrounded so rule 7 reports it as too large rather than as infinite.
        return np.where(np.isfinite(rounded), rounded, exact)

    o, h, lo = (scaled(column) for column in (open, high, low))
    # The adjusted close as given, except beyond 8 decimals (the finest tick), where all
    # four are rounded alike so that high >= close >= low still holds.
    with np.errstate(over="ignore", invalid="ignore"):
        rounded_close: FloatArray = np.round(adj_close, decimals)
    c = np.where(np.isfinite(rounded_close), rounded_close, adj_close)
    return o, h, lo, c


def repair_order(
    ts: IntArray, *columns: npt.NDArray[Any]
) -> tuple[IntArray, tuple[npt.NDArray[Any], ...], list[str]]:
    """Sort rows by time and drop duplicate timestamps; returns ``(ts, columns, warnings)``.

    The sort is stable and, of rows sharing a timestamp, the *last* in input order is kept
    (a later row in a file is taken as a correction of an earlier one). One warning per
    kind of repair, e.g. ``"repaired: sorted 3 out-of-order rows"``; none if nothing
    changed, in which case the input arrays are returned as they are. Values are never
    checked or changed here: run :func:`find_problem` with ``check_order=False`` first.
    """
    n = len(ts)
    for column in columns:
        if len(column) != n:
            raise ValueError(f"a column has {len(column)} rows, ts has {n}")
    warnings: list[str] = []
    if n < 2:
        return ts, columns, warnings

    # "Out-of-order rows" counts the rows that go back in time relative to the row above:
    # one late row in a file counts as one, however far it has to move.
    out_of_order = int(np.count_nonzero(ts[1:] < ts[:-1]))
    if out_of_order:
        order = np.argsort(ts, kind="stable")
        ts = ts[order]
        columns = tuple(column[order] for column in columns)
        warnings.append(f"repaired: sorted {out_of_order} out-of-order {_rows(out_of_order)}")

    same_as_next = ts[:-1] == ts[1:]
    dropped = int(np.count_nonzero(same_as_next))
    if dropped:
        differs = np.zeros(n - 1, dtype=np.bool_)
        for column in columns:
            differs |= column[:-1] != column[1:]
        conflicting = int(np.count_nonzero(same_as_next & differs))
        keep = np.ones(n, dtype=np.bool_)
        keep[:-1] = ~same_as_next
        ts = ts[keep]
        columns = tuple(column[keep] for column in columns)
        detail = f"; {conflicting} had different values" if conflicting else ""
        warnings.append(
            f"repaired: dropped {dropped} duplicate "
            f"timestamp{'s' if dropped != 1 else ''} (kept the last row of each{detail})"
        )
    return ts, columns, warnings


def _rows(count: int) -> str:
    return "row" if count == 1 else "rows"


# --- inference ------------------------------------------------------------------------


def median_spacing(ts: IntArray) -> int | None:
    """Median gap between consecutive timestamps in ns (``None`` for fewer than 2 rows).

    The lower median of the gaps, an exact integer: daily bars with weekend and holiday
    gaps still give one day, hourly FX with weekend gaps still gives one hour.
    """
    if len(ts) < 2:
        return None
    gaps = np.diff(ts)
    middle = (len(gaps) - 1) // 2
    return int(np.partition(gaps, middle)[middle])


def timeframe_for_spacing(spacing_ns: int) -> Timeframe | None:
    """The timeframe whose length is exactly ``spacing_ns`` in the largest whole unit.

    ``3_600e9`` → ``1h``, 7 days → ``1w``, 30 minutes → ``30m``; ``None`` when the spacing
    is not a positive whole number of seconds.
    """
    if spacing_ns <= 0:
        return None
    for unit, size in _UNITS_NS:
        if spacing_ns % size == 0:
            return Timeframe(spacing_ns // size, unit)
    return None


def _describe_spacing(spacing_ns: int) -> str:
    timeframe = timeframe_for_spacing(spacing_ns)
    return str(timeframe) if timeframe is not None else f"{spacing_ns} ns"


def timeframe_mismatch(ts: IntArray, timeframe: Timeframe) -> str | None:
    """Why ``timeframe`` disagrees with sorted timestamps ``ts``, or ``None`` if it fits.

    It fits when the median gap equals the timeframe, or when the smallest gap does (sparse
    data: an illiquid 1m series with many missing minutes has a larger median). Fewer than
    two rows always fit.
    """
    median = median_spacing(ts)
    if median is None or median == timeframe.nanoseconds:
        return None
    gaps = np.diff(ts)
    positive = gaps[gaps > 0]
    if positive.size and int(positive.min()) == timeframe.nanoseconds:
        return None
    return (
        f"timeframe {timeframe} does not match the data: its bars are "
        f"{_describe_spacing(median)} apart (median spacing); "
        f"pass timeframe {_describe_spacing(median)!r} or leave it out to infer it"
    )


def price_decimals(*columns: FloatArray, max_decimals: int = 8) -> int:
    """Fewest decimals that write every finite price exactly, capped at ``max_decimals``.

    Works on the float values, so CSV and Parquet are treated alike; a value counts as
    having ``d`` decimals when ``value * 10**d`` is within a few float ulps of an integer
    (the rounding error of parsing "50.1598"). Trailing zeros in a file ("1.10") carry no
    extra precision. No finite values gives 0.
    """
    if not columns:
        return 0
    arrays = [np.asarray(column, dtype=np.float64).ravel() for column in columns]
    if not all(np.isfinite(array).all() for array in arrays):
        return _price_decimals_filtered(arrays, max_decimals)
    total = sum(array.size for array in arrays)
    if total == 0:
        return 0
    start = 0
    if total > 4 * _DECIMALS_SAMPLE:
        # A subset needs no more decimals than the whole: start the full scan where an
        # evenly spread sample stops, so a large file usually takes one full pass.
        start = _decimals_from(np.abs(_every(arrays, total // _DECIMALS_SAMPLE)), 0,
                               max_decimals)
    # The answer is the largest of every value's own (the first d >= start at which it is
    # exact): taken in slices that stay in the CPU cache, several times faster than whole
    # columns.
    found = start
    for array in arrays:
        for lo in range(0, array.size, _DECIMALS_SLICE):
            piece = np.abs(array[lo:lo + _DECIMALS_SLICE])
            found = max(found, _decimals_from(piece, start, max_decimals))
            if found >= max_decimals:
                return max_decimals
    return found


_DECIMALS_SLICE = 65_536


def _every(arrays: list[FloatArray], step: int) -> FloatArray:
    """Every ``step``-th value of the columns laid end to end (``np.concatenate(arrays)
    [::step]``, without the copy)."""
    parts = []
    skip = 0  # values of the next column before its first pick
    for array in arrays:
        parts.append(array[skip::step])
        skip = (skip - array.size) % step
    return np.concatenate(parts)


def _price_decimals_filtered(arrays: list[FloatArray], max_decimals: int) -> int:
    """:func:`price_decimals` of columns holding NaN or infinite values (which the row
    rules reject anyway): the finite values, laid end to end."""
    values = np.concatenate(arrays)
    values = np.abs(values[np.isfinite(values)])
    if values.size == 0:
        return 0
    start = 0
    if values.size > 4 * _DECIMALS_SAMPLE:
        sample = values[:: values.size // _DECIMALS_SAMPLE]
        start = _decimals_from(sample, 0, max_decimals)
    return _decimals_from(values, start, max_decimals)


def _decimals_from(values: FloatArray, start: int, max_decimals: int) -> int:
    for decimals in range(start, max_decimals + 1):
        scaled = values * (10.0**decimals)
        error = np.abs(scaled - np.rint(scaled))
        # A value exact at d decimals is exact at d + 1 too: keep only the ones that aren't.
        values = values[error > 4 * np.spacing(scaled)]
        if values.size == 0:
            return decimals
    return max_decimals


def guess_market(ts: IntArray, timeframe: Timeframe) -> tuple[AssetClass, Calendar]:
    """A simple guess of the market from the weekdays (UTC) on which bars open.

    * bars on both Saturday and Sunday → ``CRYPTO`` / ``24/7``: no exchange-traded market
      is open on both days (a US session stamped in UTC can spill into early Saturday, an
      Asian one into Sunday, but never both);
    * intraday bars on Sunday but none on Saturday → ``FX`` / ``FX``: 24/5 markets (FX,
      futures) reopen on Sunday evening UTC;
    * intraday bars on weekdays only that cover more than 17 hours of the day (UTC) →
      ``FX`` / ``FX`` too: no exchange session spans that much, while a 24/5 market
      exported in a broker's server time (GMT+2/+3, as MetaTrader files are) opens its
      week on Monday 00:00 and shows no Sunday bar;
    * otherwise ``EQUITY`` / ``XNYS``.

    It cannot tell a short 24/7 series that never spans a weekend from equities; callers
    with better knowledge should set the instrument themselves.
    """
    if len(ts) == 0:
        return AssetClass.EQUITY, Calendar.XNYS
    # 1970-01-01 was a Thursday (weekday 3); floor division keeps pre-1970 dates right.
    counts = np.bincount((ts // _DAY_NS + 3) % 7, minlength=7)
    weekdays = set(np.flatnonzero(counts).tolist())
    if _SATURDAY in weekdays and _SUNDAY in weekdays:
        return AssetClass.CRYPTO, Calendar.ALWAYS
    if timeframe.is_intraday and _SUNDAY in weekdays:
        return AssetClass.FX, Calendar.FX
    if timeframe.is_intraday and _SATURDAY not in weekdays and _around_the_clock(ts, timeframe):
        # a 24/5 market stamped in a broker's server time (GMT+2/+3: the week opens on
        # Monday 00:00), as MetaTrader exports are: no exchange session spans the day
        return AssetClass.FX, Calendar.FX
    return AssetClass.EQUITY, Calendar.XNYS


#: hours of the day (UTC) an exchange's bars can cover at most: a US session with pre- and
#: after-market (04:00-20:00 New York) spans 17 UTC hours across the daylight-saving change
_SESSION_HOURS = 17


def _around_the_clock(ts: IntArray, timeframe: Timeframe) -> bool:
    """Whether bars cover more hours of the day (UTC) than any exchange session does."""
    opens = np.bincount((ts // _HOUR_NS) % 24, minlength=24) > 0
    covered = opens.copy()
    for later in range(1, min(24, max(1, timeframe.nanoseconds // _HOUR_NS))):
        covered |= np.roll(opens, later)  # a 4h bar opening at 08:00 covers 08:00-11:59
    return int(covered.sum()) > _SESSION_HOURS
