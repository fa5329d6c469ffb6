"""Integer units shared by the risk rules (private).

Percentages are turned into parts per million (``ppm``: 1 % = 10 000 ppm) once, when settings
are compiled, so every rule compares integers: ``value * PPM <= ppm * base`` is exact, where
``value / base <= pct / 100`` in floats would not be. Conversions round *down*, so a compiled
limit is never looser than the configured one (a 33.3333333 % cap becomes 333 333 ppm).
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal

#: parts per million in one whole (100 %)
PPM = 1_000_000
#: nanoseconds in one second and one minute
NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND


def pct_to_ppm(pct: float) -> int:
    """``pct`` percent as integer parts per million, rounded down (10.0 → 100 000)."""
    if not math.isfinite(pct) or pct < 0:
        raise ValueError(f"percentage must be a finite number >= 0, got {pct}")
    # repr() is the shortest decimal that round-trips: 0.1 stays 0.1, not 0.1000000000000000055
    return int((Decimal(repr(pct)) * 10_000).to_integral_value(rounding=ROUND_FLOOR))


def ratio_to_ppm(ratio: float) -> int:
    """A ratio (2.0 = 200 %) as integer parts per million, rounded down."""
    return pct_to_ppm(ratio * 100.0)


def money_to_units(amount: Decimal, money_unit: Decimal) -> int:
    """A currency amount as whole money units, rounded down (the stricter limit)."""
    return int((amount / money_unit).to_integral_value(rounding=ROUND_FLOOR))
