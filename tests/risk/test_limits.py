"""Pure limit rules and unit conversions, pinned by hand-computed cases."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

import pytest

from trading_strategy.risk._units import money_to_units, pct_to_ppm, ratio_to_ppm
from trading_strategy.risk.limits import (
    PortfolioLimits,
    StrategyLimits,
    exposure_cap_lots,
    max_order_lots,
    outside_collar,
    position_cap_lots,
    rate_exceeded,
)
from trading_strategy.risk.settings import RiskSettings

S = 1_000_000_000  # ns per second


@pytest.mark.parametrize(
    ("pct", "ppm"),
    [
        (10, 100_000),  # 10 % × 10 000
        (0.1, 1_000),  # repr(0.1) is "0.1", no binary noise
        (2.5, 25_000),
        (33.3333333, 333_333),  # 333 333.333 rounded down: never looser than configured
        (0.00001, 0),  # 0.1 ppm rounds down to 0
        (100, 1_000_000),
    ],
)
def test_pct_to_ppm(pct: float, ppm: int) -> None:
    assert pct_to_ppm(pct) == ppm


def test_pct_to_ppm_refuses_negative_and_nan() -> None:
    with pytest.raises(ValueError):
        pct_to_ppm(-1)
    with pytest.raises(ValueError):
        pct_to_ppm(float("nan"))


def test_ratio_and_money_units() -> None:
    assert ratio_to_ppm(2.0) == 2_000_000  # 200 %
    # 1234.567 / 0.01 = 123 456.7 → 123 456 (rounded down: the stricter limit)
    assert money_to_units(Decimal("1234.567"), Decimal("0.01")) == 123_456


@pytest.mark.parametrize(
    ("position", "sign", "cap", "expected"),
    [
        (4, +1, 10, 6),  # long 4 may add 10 − 4
        (4, -1, 10, 14),  # close 4, then open up to 10 short
        (12, +1, 10, -2),  # already over the cap: no buy
        (12, -1, 10, 22),  # close 12, open 10 short
        (4, -1, -3, 4),  # cap negative (over by 3): only close
        (0, +1, 10, 10),
        (0, -1, 10, 10),
        (-5, +1, 10, 15),  # short 5: close 5, open 10 long
        (-5, -1, 10, 5),  # short 5 may add 5 more
    ],
)
def test_max_order_lots(position: int, sign: int, cap: int, expected: int) -> None:
    assert max_order_lots(position, sign, cap) == expected


def test_position_cap_lots() -> None:
    # 1 000 000 × 100 000 ppm / (10⁶ × 15 000) = 6.67 → 6
    assert position_cap_lots(1_000_000, 100_000, 15_000) == 6
    assert position_cap_lots(0, 100_000, 15_000) == 0
    assert position_cap_lots(-5_000, 100_000, 15_000) == 0  # negative equity counts as 0


def test_exposure_cap_lots() -> None:
    # (100 000 − 40 000) / 15 000 = 4
    assert exposure_cap_lots(100_000, 40_000, 15_000) == 4
    # (100 000 − 130 000) / 15 000 = −2 (floor): already over the cap
    assert exposure_cap_lots(100_000, 130_000, 15_000) == -2


@pytest.mark.parametrize(
    ("limit", "outside"),
    [
        (10_500, False),  # |500| × 10⁶ = 5 × 10⁸ = 50 000 ppm × 10 000: on the edge, allowed
        (10_501, True),
        (9_500, False),
        (9_499, True),
        (10_000, False),
    ],
)
def test_price_collar(limit: int, outside: bool) -> None:
    assert outside_collar(limit, 10_000, 50_000) is outside  # last 10 000, 5 % collar


def test_rate_window() -> None:
    sent: deque[int] = deque([0, 10 * S], maxlen=3)
    assert not rate_exceeded(sent, 20 * S)  # only 2 in the window
    sent.append(20 * S)
    assert rate_exceeded(sent, 59 * S + 999)  # 3 sent within the last 60 s
    assert not rate_exceeded(sent, 60 * S)  # the order at 0 s left the window (60 s ago)


def test_compiled_limits() -> None:
    settings = RiskSettings(
        max_position_pct=10, max_order_notional=Decimal("1000"), price_collar_pct=5,
        max_leverage=2, initial_margin_pct=50, max_gross_exposure=Decimal("2500.5"),
        blocked_symbols=["GME"], tradable_symbols=["AAPL"],
    )
    unit = Decimal("0.01")
    lim = StrategyLimits.compile(settings.for_strategy(None), unit)
    assert lim.position_ppm == 100_000
    assert lim.order_notional_units == 100_000  # 1000 / 0.01
    assert lim.collar_ppm == 50_000
    assert lim.is_tradable("AAPL") and not lim.is_tradable("GME") and not lim.is_tradable("IBM")
    port = PortfolioLimits.compile(settings, unit)
    assert port.leverage_ppm == 2_000_000
    assert port.margin_ppm == 500_000
    assert port.gross_units == 250_050
    assert port.has_gross_caps
    off = PortfolioLimits.compile(RiskSettings(check_buying_power=False), unit)
    assert off.margin_ppm is None and not off.has_gross_caps
