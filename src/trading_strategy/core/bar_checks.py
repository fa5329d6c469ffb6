"""The row rules every path into the system applies to OHLCV columns (pure, no I/O).

They live in the core because every layer that holds bars must agree on them: the file
loader (``market_data``) rejects what breaks them, and the database (``storage``) refuses to
store it, without either importing the other.

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
when that row breaks several rules the lowest-numbered rule above names it. Everything is
vectorized: a million rows validate in a few tens of milliseconds.
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

__all__ = [
    "EXACT_LIMIT",
    "Problem",
    "ProblemKind",
    "find_adjusted_problem",
    "find_problem",
    "price_limit",
]

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
