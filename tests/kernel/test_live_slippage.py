"""Slippage fed bar by bar gives the ticks the backtest's bound model gives over the series."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from trading_strategy.kernel.costs import AtrSlippage
from trading_strategy.kernel.live_slippage import IncrementalAtrSlippage
from trading_strategy.testing import make_bars


@pytest.mark.parametrize(("multiple", "period"), [("0.5", 3), ("1", 14), ("2.5", 7)])
def test_incremental_atr_slippage_equals_the_bound_model(multiple: str, period: int) -> None:
    rng = np.random.default_rng(3)
    close = (100 + np.cumsum(rng.normal(0, 1, 300))).round(2)
    spread = np.abs(rng.normal(0, 0.8, 300)).round(2)
    bars = make_bars(close.tolist(), high=(close + spread).tolist(),
                     low=(close - spread).tolist())
    model = AtrSlippage(Decimal(multiple), period)
    bound = model.bind(bars.instrument, bars)
    live = IncrementalAtrSlippage(model, bars.instrument)
    got, want = [], []
    for i in range(len(bars)):
        got.append(live(1, 10_000, i))
        want.append(bound(1, 10_000, i))
        live.update(float(bars.high[i]), float(bars.low[i]), float(bars.close[i]))
    assert got == want
    assert want[period] > 0 and want[:period] == [0] * period


def test_a_bar_matched_again_is_priced_as_its_first_match() -> None:
    """The paper venue's second feed of a bar (exits attached at its open) fills with the
    ATR up to the bar before, as the backtest fills everything on that bar."""
    rng = np.random.default_rng(5)
    close = (100 + np.cumsum(rng.normal(0, 1, 40))).round(2)
    spread = np.abs(rng.normal(0, 0.8, 40)).round(2)
    bars = make_bars(close.tolist(), high=(close + spread).tolist(),
                     low=(close - spread).tolist())
    model = AtrSlippage(Decimal("1"), 3)
    bound = model.bind(bars.instrument, bars)
    live = IncrementalAtrSlippage(model, bars.instrument)
    changed = 0
    for i in range(len(bars) - 1):
        live.update(float(bars.high[i]), float(bars.low[i]), float(bars.close[i]))
        live.repeat_last_bar(True)
        assert live(-1, 10_000, i) == bound(-1, 10_000, i)
        live.repeat_last_bar(False)
        assert live(-1, 10_000, i + 1) == bound(-1, 10_000, i + 1)
        changed += bound(-1, 10_000, i) != bound(-1, 10_000, i + 1)
    assert changed > 10
