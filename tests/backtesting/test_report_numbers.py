"""The report's numbers without a Decimal each (``report._Numbers``) are the Decimal
path's exactly: same value and same type (an int prints ``12``, a float ``12.5``)."""

from __future__ import annotations

import random
from decimal import Decimal, InvalidOperation

import pytest

from trading_strategy.backtesting.report import _avg_price, _Numbers, number


@pytest.mark.parametrize("unit", ["0.01", "1", "0.0001", "0.00000001", "0.5", "0.25", "10",
                                  "0.000000000001", "1E+1", "0.0000000001", "0.001"])
def test_numbers_match_the_decimal_path(unit: str) -> None:
    rng = random.Random(unit)
    exact = Decimal(unit)
    numbers = _Numbers(exact)
    for _ in range(5000):
        units = rng.choice([rng.randint(-10**6, 10**6), rng.randint(-2**60, 2**60), 0,
                            rng.randint(-10**17, 10**17), 2**53, -(2**53) + 1])
        fast, slow = numbers(units), number(units * exact)
        assert (fast, type(fast)) == (slow, type(slow)), units
        count = rng.choice([1, 2, 3, 7, 10, 100, rng.randint(1, 1000)])
        value = rng.choice([units, units * count, abs(units) + 1]) or 1
        try:
            expected = _avg_price(value, count, exact)
        except InvalidOperation:  # beyond the Decimal context: not a report's price
            continue
        got = numbers.average(value, count)
        assert (got, type(got)) == (expected, type(expected)), (value, count)
