"""Pure OHLCV checks, repairs and inference over numpy columns (no I/O).

Shared by the file loader (``files.py``) and any other importer (the database import), so
every path into the system accepts and rejects the same bars.

Row rules, checked by :func:`find_problem` (row *i* is bad when ...):

1. a price (open, high, low, close) is NaN, infinite, zero or negative;
2. the volume is NaN, infinite, negative or not below 2**53 (zero volume is fine);
3. ``high < low``;
4. ``high < max(open, close)``;
5. ``low > min(open, close)``;
6. its timestamp equals the previous row's (duplicate) or is earlier (out of order);
7. with a ``tick`` given: a price rounds to zero ticks, or is too large for the exact
   integer representation (see :func:`price_limit`).

Rule 7 exists because prices live as integers of the tick everywhere money is computed
and stored: a price of 1e-9 at a tick of 1e-8 would silently become 0, and 1e308 would
overflow int64. The volume bound of rule 2 is the same kind of limit: volumes are stored
as exact integers and read back through float64, which holds every integer below 2**53.

The *first bad row in row order* is reported, so a caller can point at one line of a file;
when that row breaks several rules the lowest-numbered rule above names it. Prices are never
invented or clipped: the only repair offered (:func:`repair_order`) reorders rows and drops
duplicate timestamps.

Everything is vectorized: a million rows validate in a few tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_strategy.core.bars import FloatArray, IntArray, format_ts
from trading_strategy.core.instrument import AssetClass, Calendar
from trading_strategy.core.timeframe import Timeframe

__all__ = [
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
# float64 holds every integer below 2**53: the bound on exact integer prices (in units of
# the tick's last decimal) and volumes, shared with the storage codec.
EXACT_LIMIT = 2**53


class ProblemKind(StrEnum):
    """Which rule a row broke: lets callers add their own hints (e.g. "use repair")."""

    PRICE = "price"
    VOLUME = "volume"
    OHLC = "ohlc"
    DUPLICATE = "duplicate"
    ORDER = "order"
    TICK = "tick"


@dataclass(frozen=True, slots=True)
class Problem:
    """The first bad row: its 0-based ``index`` in the columns and a readable ``reason``."""

    index: int
    reason: str
    kind: ProblemKind


def _num(value: Any) -> str:
    # repr of a Python float round-trips and avoids numpy 2's "np.float64(...)" repr.
    return repr(float(value))


def _first_true(mask: npt.NDArray[np.bool_]) -> int | None:
    if mask.size == 0:
        return None
    index = int(np.argmax(mask))
    return index if mask[index] else None


class _Earliest:
    """Keeps the earliest problem; at equal rows the rule checked first wins."""

    def __init__(self) -> None:
        self.problem: Problem | None = None

    def consider(
        self,
        mask: npt.NDArray[np.bool_],
        kind: ProblemKind,
        describe: Callable[[int], str],
        offset: int = 0,
    ) -> None:
        limit = self.problem.index - offset if self.problem is not None else mask.size
        # Only a strictly earlier row can replace the current problem.
        index = _first_true(mask[: max(limit, 0)])
        if index is not None:
            row = index + offset
            self.problem = Problem(row, describe(row), kind)


def _nan_reason(name: str) -> Callable[[int], str]:
    return lambda _: f"{name} is NaN"


def _inf_reason(name: str, col: FloatArray) -> Callable[[int], str]:
    return lambda i: f"{name} is infinite ({_num(col[i])})"


def _not_positive_reason(name: str, col: FloatArray) -> Callable[[int], str]:
    def reason(i: int) -> str:
        sign = "zero" if col[i] == 0 else "negative"
        return f"{name} is {sign} ({_num(col[i])}); prices must be > 0"

    return reason


def _price_rules(found: _Earliest, name: str, col: FloatArray) -> None:
    found.consider(np.isnan(col), ProblemKind.PRICE, _nan_reason(name))
    found.consider(np.isinf(col), ProblemKind.PRICE, _inf_reason(name, col))
    # NaN compares False here, so NaN rows are left to the check above.
    found.consider(col <= 0, ProblemKind.PRICE, _not_positive_reason(name, col))


def _volume_rules(found: _Earliest, name: str, volume: FloatArray) -> None:
    found.consider(np.isnan(volume), ProblemKind.VOLUME, _nan_reason(name))
    found.consider(np.isinf(volume), ProblemKind.VOLUME, _inf_reason(name, volume))
    found.consider(
        volume < 0, ProblemKind.VOLUME, lambda i: f"{name} is negative ({_num(volume[i])})"
    )
    found.consider(
        np.isfinite(volume) & (volume >= EXACT_LIMIT),
        ProblemKind.VOLUME,
        lambda i: f"{name} {_num(volume[i])} is too large: volumes must be below 2**53 "
        f"({float(EXACT_LIMIT):.4g}) to be held exactly",
    )


def _ohlc_rules(
    found: _Earliest,
    names: tuple[str, str, str, str],
    open: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
) -> None:
    o_name, h_name, l_name, c_name = names
    found.consider(
        high < low,
        ProblemKind.OHLC,
        lambda i: f"{h_name} {_num(high[i])} is below {l_name} {_num(low[i])}",
    )

    def above_high(i: int) -> str:
        name, value = (o_name, open[i]) if open[i] > close[i] else (c_name, close[i])
        return f"{h_name} {_num(high[i])} is below {name} {_num(value)}"

    def below_low(i: int) -> str:
        name, value = (o_name, open[i]) if open[i] < close[i] else (c_name, close[i])
        return f"{l_name} {_num(low[i])} is above {name} {_num(value)}"

    found.consider(high < np.maximum(open, close), ProblemKind.OHLC, above_high)
    found.consider(low > np.minimum(open, close), ProblemKind.OHLC, below_low)


def find_adjusted_problem(
    adjusted: Mapping[str, FloatArray], names: Mapping[str, str] | None = None
) -> Problem | None:
    """The first bad row of a file's adjusted columns (``adj_open`` ... ``adj_volume``).

    Adjusted prices follow rule 1 and an adjusted volume rule 2; a full set of adjusted
    open, high, low and close also rules 3-5. ``names`` gives each role's name in the file
    for the reasons (default: the role).
    """
    shown = dict(names or {})
    found = _Earliest()
    for role, col in adjusted.items():
        if role == "adj_volume":
            _volume_rules(found, shown.get(role, role), col)
        else:
            _price_rules(found, shown.get(role, role), col)
    full = ("adj_open", "adj_high", "adj_low", "adj_close")
    if all(role in adjusted for role in full):
        o, h, lo, c = (adjusted[role] for role in full)
        labels = tuple(shown.get(role, role) for role in full)
        _ohlc_rules(found, (labels[0], labels[1], labels[2], labels[3]), o, h, lo, c)
    return found.problem


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


def price_limit(tick: Decimal) -> Decimal:
    """The smallest price too large to hold exactly at ``tick`` (rule 7).

    A price is stored as an integer count of the tick's last decimal place (``0.25`` →
    hundredths) and read back through float64, so that count must stay below 2**53:
    about 9.0e13 at a tick of 0.01, 9.0e7 at 1e-8. Far above any real market price, far
    below where int64 ticks overflow.
    """
    return Decimal(EXACT_LIMIT).scaleb(_tick_scale(tick))


def _tick_scale(tick: Decimal) -> int:
    # Decimal places of the tick as a (non-positive) power of ten: 0.25 -> -2, 5 -> 0.
    return min(0, int(tick.normalize().as_tuple().exponent))


def _tick_rules(found: _Earliest, tick: Decimal, prices: tuple[tuple[str, FloatArray], ...]
                ) -> None:
    """Rule 7: each price as whole ticks must be at least one and exactly representable."""
    scale = _tick_scale(tick)
    units_per_tick = int(tick.scaleb(-scale))
    limit = price_limit(tick)
    step = float(tick)
    for name, col in prices:
        # The same rounding as the storage codec and the backtest engine (rint(p / tick)),
        # so what passes here is exactly what they hold. NaN/inf rows are already reported
        # by rule 1; errstate keeps numpy's warnings about them off stderr.
        with np.errstate(over="ignore", invalid="ignore"):
            ticks = np.rint(col / step)
            zero = ticks < 1
            too_big = ticks * units_per_tick >= EXACT_LIMIT

        def rounds_to_zero(i: int, name: str = name, col: FloatArray = col) -> str:
            return (f"{name} {_num(col[i])} rounds to 0 at tick size {tick:f}; every price "
                    "must round to at least one tick")

        def too_large(i: int, name: str = name, col: FloatArray = col) -> str:
            return (f"{name} {_num(col[i])} is too large: at tick size {tick:f} prices must "
                    f"be below {limit:.4g} to be held exactly")

        found.consider(zero, ProblemKind.TICK, rounds_to_zero)
        found.consider(too_big, ProblemKind.TICK, too_large)


def find_problem(
    ts: IntArray,
    open: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    *,
    check_order: bool = True,
    tick: Decimal | None = None,
) -> Problem | None:
    """The first row breaking a rule of the module docstring, or ``None`` if all are good.

    ``ts`` is int64 nanoseconds. With ``check_order=False`` rule 6 is skipped (for callers
    that sort and de-duplicate afterwards with :func:`repair_order`). Rule 7 is checked
    only when ``tick`` (the instrument's tick size) is given.
    """
    n = len(ts)
    for name, column in (("open", open), ("high", high), ("low", low), ("close", close)):
        if len(column) != n:
            raise ValueError(f"column {name} has {len(column)} rows, ts has {n}")
    if len(volume) != n:
        raise ValueError(f"column volume has {len(volume)} rows, ts has {n}")

    found = _Earliest()
    for name, col in (("open", open), ("high", high), ("low", low), ("close", close)):
        _price_rules(found, name, col)
    _volume_rules(found, "volume", volume)
    _ohlc_rules(found, ("open", "high", "low", "close"), open, high, low, close)
    if tick is not None:
        _tick_rules(found, tick, (("open", open), ("high", high), ("low", low),
                                  ("close", close)))

    if check_order and n > 1:
        step = np.diff(ts)
        # Row i + 1 is the offender: the earlier row was fine when it was read.
        found.consider(
            step == 0,
            ProblemKind.DUPLICATE,
            lambda i: f"duplicate timestamp {format_ts(int(ts[i]))} (same as the previous row)",
            offset=1,
        )
        found.consider(
            step < 0,
            ProblemKind.ORDER,
            lambda i: (
                f"timestamp {format_ts(int(ts[i]))} is earlier than the previous row's "
                f"{format_ts(int(ts[i - 1]))}; rows must be in time order"
            ),
            offset=1,
        )
    return found.problem


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
    values = np.concatenate([np.asarray(column, dtype=np.float64) for column in columns])
    values = np.abs(values[np.isfinite(values)])
    if values.size == 0:
        return 0
    start = 0
    if values.size > 4 * _DECIMALS_SAMPLE:
        # A subset needs no more decimals than the whole: start the full scan where an
        # evenly spread sample stops, so a large file usually takes one full pass.
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
    * otherwise ``EQUITY`` / ``XNYS``.

    It cannot tell a short 24/7 series that never spans a weekend from equities; callers
    with better knowledge should set the instrument themselves.
    """
    if len(ts) == 0:
        return AssetClass.EQUITY, Calendar.XNYS
    # 1970-01-01 was a Thursday (weekday 3); floor division keeps pre-1970 dates right.
    weekdays = set(np.unique((ts // _DAY_NS + 3) % 7).tolist())
    if _SATURDAY in weekdays and _SUNDAY in weekdays:
        return AssetClass.CRYPTO, Calendar.ALWAYS
    if timeframe.is_intraday and _SUNDAY in weekdays:
        return AssetClass.FX, Calendar.FX
    return AssetClass.EQUITY, Calendar.XNYS
