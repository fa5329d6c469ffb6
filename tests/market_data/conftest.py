"""Every CSV file these tests load goes through the fast path first (whatever its size), so
each test also checks that the fast path reads as the strict reader or hands over to it."""

from __future__ import annotations

import pytest

from trading_strategy.market_data import _arrow_csv


@pytest.fixture(autouse=True)
def _fast_csv_path_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_arrow_csv, "MIN_BYTES", 0)
