"""Position sizing, pinned by hand-computed cases (arithmetic in the comments)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading_strategy.core.instrument import Instrument
from trading_strategy.risk.position_sizing import (
    SizingRules,
    kelly_fraction,
    size_fixed_fraction,
    size_fixed_quantity,
    size_kelly,
    size_order,
    size_volatility_target,
)
from trading_strategy.risk.settings import RiskSettings

AAPL = Instrument("AAPL")  # tick 0.01, lot 1: money unit 0.01


def test_fixed_quantity_rounds_down_to_lots() -> None:
    assert size_fixed_quantity(Decimal("100"), AAPL) == 100
    tens = Instrument("X", lot_size=Decimal("10"))
    assert size_fixed_quantity(Decimal("105"), tens) == 10  # 105 / 10 = 10.5 → 10
    assert size_fixed_quantity(Decimal("-5"), AAPL) == 0


def test_fixed_fraction() -> None:
    # 10 % of 1 000 000 = 100 000; / 15 000 per lot = 6.67 → 6
    assert size_fixed_fraction(equity_units=1_000_000, price_ticks=15_000, fraction_pct=10) == 6
    # value factor 2: 100 000 / 30 000 = 3.33 → 3
    assert size_fixed_fraction(equity_units=1_000_000, price_ticks=15_000, fraction_pct=10,
                               value_factor=2) == 3
    assert size_fixed_fraction(equity_units=0, price_ticks=15_000, fraction_pct=10) == 0
    assert size_fixed_fraction(equity_units=1_000_000, price_ticks=0, fraction_pct=10) == 0


def test_volatility_target() -> None:
    # risk 1 % of 1 000 000 = 10 000; a stop 250 ticks away loses 250 per lot → 40 lots
    assert size_volatility_target(equity_units=1_000_000, stop_distance_ticks=250,
                                  risk_pct=1) == 40
    # 10 000 / 300 = 33.3 → 33
    assert size_volatility_target(equity_units=1_000_000, stop_distance_ticks=300,
                                  risk_pct=1) == 33
    assert size_volatility_target(equity_units=1_000_000, stop_distance_ticks=0,
                                  risk_pct=1) == 0


def test_kelly() -> None:
    # f* = p − (1 − p) / b = 0.6 − 0.4 / 2 = 0.4
    assert kelly_fraction(0.6, 2.0) == pytest.approx(0.4)
    assert kelly_fraction(0.5, 0.0) == 0.0  # no payoff: no bet
    # p 0.55, b 1.5: f* = 0.55 − 0.3 = 0.25; half Kelly 0.125; capped at 10 % → 0.10;
    # 0.10 × 1 000 000 = 100 000 / 20 000 per lot = 5
    kwargs = {"equity_units": 1_000_000, "price_ticks": 20_000, "win_rate": 0.55,
              "payoff_ratio": 1.5, "fraction": 0.5}
    assert size_kelly(**kwargs, max_pct=10) == 5
    # cap 50 % does not bind: 0.125 × 1 000 000 = 125 000 / 20 000 = 6.25 → 6
    assert size_kelly(**kwargs, max_pct=50) == 6
    # p 0.4, b 1: f* = 0.4 − 0.6 = −0.2: no edge, no position
    assert size_kelly(equity_units=1_000_000, price_ticks=20_000, win_rate=0.4,
                      payoff_ratio=1.0, fraction=1.0, max_pct=100) == 0


def test_size_order_dispatch() -> None:
    def rules(**kw: object) -> SizingRules:
        return SizingRules.from_settings(RiskSettings(**kw).for_strategy(None))

    base = {"instrument": AAPL, "equity_units": 1_000_000, "price_ticks": 15_000}
    own = size_order(rules(), requested_lots=7, **base)
    assert own.lots == 7
    assert size_order(rules(), requested_lots=0, **base).note
    fixed = size_order(rules(sizing_method="fixed_quantity", fixed_quantity=Decimal(12)),
                       **base)
    assert fixed.lots == 12
    frac = size_order(rules(sizing_method="fixed_fraction", fixed_fraction_pct=10),
                      **base)
    assert frac.lots == 6
    vol = rules(sizing_method="volatility_target", risk_per_trade_pct=1, stop_loss_pct=2)
    missing = size_order(vol, **base)
    assert missing.lots == 0 and "stop distance" in missing.note
    assert size_order(vol, stop_distance_ticks=250, **base).lots == 40
    kelly = rules(sizing_method="kelly", kelly_fraction=0.5, kelly_max_pct=10)
    # no statistics yet: the warm-up sizes at kelly_fraction × kelly_max_pct = 5 % of equity,
    # 50 000 / 15 000 → 3 (it used to be 0 lots: a Kelly strategy never traded)
    assert size_order(kelly, **base).lots == 3
    # 0.10 × 1 000 000 / 15 000 = 6.67 → 6
    assert size_order(kelly, win_rate=0.55, payoff_ratio=1.5, **base).lots == 6
    tiny = size_order(rules(sizing_method="fixed_fraction", fixed_fraction_pct=1),
                      instrument=AAPL, equity_units=10_000, price_ticks=15_000)
    assert tiny.lots == 0 and "rounds down to 0" in tiny.note  # 100 / 15 000 < 1 lot
