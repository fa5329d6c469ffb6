"""How a size setting reads back in reports and messages: plain digits, never 5E+2."""

from __future__ import annotations

import pytest

from trading_strategy.kernel.sizing import SizeSpec


@pytest.mark.parametrize(("text", "shown"), [
    ("500", "500"), ("1000", "1000"), ("0.5", "0.5"), ("50%", "50%"), ("100%", "100%"),
    ("all-in", "all-in"), ("2.50", "2.5"),
])
def test_a_size_reads_back_as_written(text: str, shown: str) -> None:
    assert str(SizeSpec.parse(text)) == shown
