"""Types and constants shared by the file loader and its readers.

``_Columns`` (one file's parsed columns), ``_BadValue`` (an unparsable value), the price
roles and ``_row_error`` live here, apart from :mod:`.files`, :mod:`._csv`,
:mod:`._parquet` and :mod:`._adjusted`, so that each of those can import them without
importing one another in a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trading_strategy.core.bars import FloatArray, IntArray
from trading_strategy.core.errors import DataError

_PRICES = ("open", "high", "low", "close")


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
    # Adjusted-price columns found in the file (role -> values), see _adjusted._ADJUSTED_ALIASES.
    adjusted: dict[str, FloatArray] = field(default_factory=dict)
    header: dict[str, str] = field(default_factory=dict)  # role -> name in the file
    # What was recognised or detected about the format (delimiter, dates, ...), for the user.
    notes: tuple[str, ...] = ()


class _BadValue(Exception):
    """An unparsable value at ``index`` of the column being converted."""

    def __init__(self, index: int, value: str, why: str = "") -> None:
        super().__init__(value)
        self.index = index
        self.value = value
        self.why = why


def _row_error(columns: _Columns, source: str, index: int, reason: str) -> DataError:
    if columns.lines is None:
        return DataError(f"row {index + 1}: {reason}", path=source)
    return DataError(reason, path=source, line=int(columns.lines[index]))
