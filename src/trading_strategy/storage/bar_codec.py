"""Bars as exact integers: the bridge between float ``BarSeries`` columns and NUMERIC storage.

Prices become integer ticks of the instrument (rounded half-to-even, like
``Instrument.to_ticks``); each volume becomes an integer over a power of ten, with the
fewest decimals (at most 8) that write it exactly. Comparing
integers is what makes re-imports idempotent: a bar is "unchanged" when its ticks and
volume units equal the stored ones, whatever float noise the file parser produced.

Going back to floats divides an exact integer by a power of ten, which IEEE 754 rounds
correctly: the float is the one nearest to the stored decimal, on both engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from trading_strategy.core.bar_checks import EXACT_LIMIT
from trading_strategy.core.bars import FloatArray, IntArray
from trading_strategy.core.errors import DataError

__all__ = ["ExactBars", "PriceGrid", "WritePlan", "plan_write", "volume_decimals"]

BoolArray = npt.NDArray[np.bool_]
MAX_VOLUME_DECIMALS = 8
_SAFE_INT = EXACT_LIMIT  # beyond 2**53 a float64 no longer holds every integer
PRICE_FIELDS = ("open", "high", "low", "close")


@dataclass(frozen=True, slots=True)
class PriceGrid:
    """An instrument's tick as ``units_per_tick`` units of ``10**-scale``."""

    tick: Decimal
    scale: int
    units_per_tick: int

    @classmethod
    def for_tick(cls, tick: Decimal) -> PriceGrid:
        exponent = tick.normalize().as_tuple().exponent
        scale = max(0, -int(exponent))
        return cls(tick, scale, int(tick.scaleb(scale)))

    def to_ticks(self, prices: FloatArray, *, what: str = "price") -> IntArray:
        """Whole ticks; a last line of defence, as callers check the rows first
        (``core.bar_checks.find_problem`` with the tick names the bad row)."""
        # errstate: an overflowing price is reported below, not as a numpy warning on stderr.
        with np.errstate(over="ignore", invalid="ignore"):
            ticks = np.rint(prices / float(self.tick))
            if ticks.size and not (
                np.all(np.isfinite(ticks))
                and float(np.max(np.abs(ticks))) * self.units_per_tick < _SAFE_INT
            ):
                raise DataError(f"{what} too large to store exactly at tick size {self.tick:f}")
        return ticks.astype(np.int64)

    def units(self, ticks: IntArray) -> IntArray:
        """Ticks as integer units of ``10**-scale`` (what NUMERIC receives)."""
        return ticks * np.int64(self.units_per_tick)

    def to_floats(self, ticks: IntArray) -> FloatArray:
        result: FloatArray = self.units(ticks) / float(10**self.scale)
        return result

    def decimal(self, ticks: int) -> Decimal:
        return Decimal(ticks * self.units_per_tick).scaleb(-self.scale)


def volume_decimals(volume: FloatArray) -> IntArray:
    """Per bar, the fewest decimals (≤ 8) that write its volume exactly.

    Per bar rather than per batch, so one huge volume does not cost a small one its
    decimals. Capped where ``volume * 10**d`` leaves the range in which a float holds
    every integer: beyond it the float has no more decimals to give.
    """
    values = np.abs(volume)
    if values.size and float(values.max()) >= _SAFE_INT:
        raise DataError(f"volume {float(values.max())!r} too large to store exactly")
    decimals = np.full(values.shape, MAX_VOLUME_DECIMALS, dtype=np.int64)
    pending = np.ones(values.shape, dtype=np.bool_)
    for d in range(MAX_VOLUME_DECIMALS + 1):
        scaled = values * 10.0**d
        # Within a few ulps of an integer: the parse error of "123.45" is not a decimal.
        exact = np.abs(scaled - np.rint(scaled)) <= 4 * np.spacing(scaled)
        too_big = values * 10.0 ** (d + 1) >= _SAFE_INT
        done = pending & (exact | too_big)
        decimals[done] = d
        pending &= ~done
        if not pending.any():
            break
    return decimals


def volume_units(volume: FloatArray, decimals: IntArray) -> IntArray:
    return np.rint(volume * 10.0**decimals).astype(np.int64)


@dataclass(frozen=True, slots=True)
class ExactBars:
    """Bars as integers: prices in ticks of ``grid``; volume ``volume * 10**-volume_scale``
    (the scale per bar, see :func:`volume_decimals`)."""

    grid: PriceGrid
    volume_scale: IntArray
    ts: IntArray
    open: IntArray
    high: IntArray
    low: IntArray
    close: IntArray
    volume: IntArray

    @classmethod
    def from_floats(
        cls,
        grid: PriceGrid,
        ts: IntArray,
        prices: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
        volume: FloatArray,
    ) -> ExactBars:
        o, h, lo, c = (grid.to_ticks(p, what=name) for p, name in zip(prices, PRICE_FIELDS,
                                                                       strict=True))
        scale = volume_decimals(volume)
        return cls(grid, scale, ts, o, h, lo, c, volume_units(volume, scale))

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, index: IntArray | BoolArray) -> ExactBars:
        return ExactBars(
            self.grid,
            self.volume_scale[index],
            self.ts[index],
            self.open[index],
            self.high[index],
            self.low[index],
            self.close[index],
            self.volume[index],
        )

    def prices(self) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        return self.open, self.high, self.low, self.close

    def float_columns(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        to_float = self.grid.to_floats
        return (to_float(self.open), to_float(self.high), to_float(self.low),
                to_float(self.close), self.volume_floats())

    def volume_floats(self) -> FloatArray:
        """The float nearest to each exact volume (integer over a power of ten)."""
        result: FloatArray = self.volume / 10.0**self.volume_scale
        return result

    def describe(self, i: int) -> dict[str, Decimal]:
        out = {name: self.grid.decimal(int(col[i])) for name, col in zip(PRICE_FIELDS,
                                                                          self.prices(),
                                                                          strict=True)}
        out["volume"] = Decimal(int(self.volume[i])).scaleb(-int(self.volume_scale[i]))
        return out


@dataclass(frozen=True, slots=True)
class WritePlan:
    """Which incoming bars are new, which change a stored bar, and how many are unchanged."""

    new: BoolArray
    changed: BoolArray
    stored_index: IntArray  # for each incoming bar, its position among the stored ones

    @property
    def unchanged(self) -> int:
        return int(len(self.new) - self.new.sum() - self.changed.sum())


def plan_write(incoming: ExactBars, stored: ExactBars) -> WritePlan:
    """Compare incoming bars with the stored bars of the same time range (both sorted)."""
    position = np.searchsorted(stored.ts, incoming.ts)
    clipped = np.minimum(position, max(len(stored) - 1, 0))
    if len(stored):
        matched = stored.ts[clipped] == incoming.ts
    else:
        matched = np.zeros(len(incoming), dtype=np.bool_)
    differs = np.zeros(len(incoming), dtype=np.bool_)
    if len(stored):
        # Prices compare as ticks; volumes (whose scale varies by bar) as the floats
        # nearest to their exact values, which are equal exactly when the decimals are.
        pairs = zip((*incoming.prices(), incoming.volume_floats()),
                    (*stored.prices(), stored.volume_floats()), strict=True)
        for new_col, old_col in pairs:
            differs |= new_col != old_col[clipped]
    return WritePlan(~matched, matched & differs, clipped.astype(np.int64))
