"""Adjusted prices (``Adj Close`` and its sibling columns) for the file loader.

Which header names count as adjusted columns (``_ADJUSTED_ALIASES``), which ``adj...``
columns are refused because they cannot be applied (:func:`_check_adjustment_columns`,
called while reading the header), and replacing the prices by adjusted ones
(:func:`_adjust`). Kept apart from the CSV and Parquet readers, which both use it; the
rules are in the :mod:`.files` docstring and docs/data.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from trading_strategy.core.errors import DataError
from trading_strategy.market_data._columns import _PRICES, _Columns, _row_error
from trading_strategy.market_data.validation import (
    adjust_by_close,
    find_adjusted_problem,
    find_problem,
)

# Adjusted prices, as Yahoo ("Adj Close"), Alpha Vantage ("adjusted_close"), Quandl
# ("Adj. Open" ...) and Tiingo ("adjOpen" ...) name them; matched after _csv._normalized().
_ADJUSTED_ALIASES = {
    f"{prefix}{base}": f"adj_{base}"
    for prefix in ("adj", "adjusted")
    for base in (*_PRICES, "volume")
}
_ADJUSTED_PRICES = tuple(f"adj_{name}" for name in _PRICES)


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
