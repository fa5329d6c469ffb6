"""bar_moments (the deflated Sharpe ratio's inputs) against the textbook formulas."""

from __future__ import annotations

import numpy as np
import pytest

from trading_strategy.research.trial import bar_moments


def test_moments_match_the_definitions() -> None:
    rng = np.random.default_rng(5)
    equity = 1e4 * np.exp(np.cumsum(rng.normal(0.0002, 0.01, 5000) ** 3 * 50 + 0.0001))
    r = equity[1:] / equity[:-1] - 1.0
    z = (r - r.mean()) / r.std()
    got = bar_moments(equity)
    assert got["n"] == len(r)
    assert got["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1), rel=1e-12)
    assert got["skew"] == pytest.approx(np.mean(z**3), rel=1e-9)
    assert got["kurtosis"] == pytest.approx(np.mean(z**4), rel=1e-12)
    assert abs(got["skew"]) > 0.1  # a skewed sample: the test tells skew from zero


def test_undefined_moments_are_empty() -> None:
    assert bar_moments(np.array([100.0, 101.0])) == {}  # too short
    assert bar_moments(np.full(10, 100.0)) == {}  # no dispersion
    assert bar_moments(np.array([100.0, 0.0, 5.0, 6.0])) == {}  # wiped out
