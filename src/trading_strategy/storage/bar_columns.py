"""Stored bars as float columns, the shape both engines' readers return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_strategy.core.bars import BarSeries, FloatArray, IntArray
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.timeframe import Timeframe

__all__ = ["ROW_DTYPE", "StoredColumns"]

ROW_DTYPE = np.dtype(
    [("ts", "i8"), ("open", "f8"), ("high", "f8"), ("low", "f8"), ("close", "f8"),
     ("volume", "f8")]
)


@dataclass(frozen=True, slots=True)
class StoredColumns:
    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    @classmethod
    def from_records(cls, rows: npt.NDArray[Any]) -> StoredColumns:
        """Contiguous columns (what indicator code expects) from a structured array."""
        return cls(*(np.ascontiguousarray(rows[name], dtype=ROW_DTYPE[name])
                     for name in ROW_DTYPE.names or ()))

    @classmethod
    def empty(cls) -> StoredColumns:
        return cls.from_records(np.empty(0, dtype=ROW_DTYPE))

    @classmethod
    def concat(cls, parts: list[StoredColumns]) -> StoredColumns:
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, name) for p in parts])
                     for name in ROW_DTYPE.names or ()))

    def __len__(self) -> int:
        return len(self.ts)

    def sorted(self) -> StoredColumns:
        """Time order, whatever order the server produced (cheap when already sorted)."""
        if len(self.ts) < 2 or bool(np.all(self.ts[1:] > self.ts[:-1])):
            return self
        order = np.argsort(self.ts, kind="stable")
        return StoredColumns(*(getattr(self, name)[order] for name in ROW_DTYPE.names or ()))

    def series(self, instrument: Instrument, timeframe: Timeframe) -> BarSeries:
        return BarSeries(instrument, timeframe, self.ts, self.open, self.high, self.low,
                         self.close, self.volume)
