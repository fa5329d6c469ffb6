"""Kelly sizing learns from the strategy's closed trades after a documented warm-up
(issue 8 item 4: it used to size every entry at 0 lots, so a Kelly strategy never traded)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from trading_strategy.core.enums import Side
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.risk import RiskEngine, RiskSettings, SizingRules, size_order
from trading_strategy.risk.position_sizing import kelly_estimate, kelly_fraction

AAPL = Instrument("AAPL")
BASE = {"instrument": AAPL, "equity_units": 1_000_000, "price_ticks": 15_000}


def rules(**kw: object) -> SizingRules:
    settings = RiskSettings(sizing_method="kelly", kelly_fraction=0.5, kelly_max_pct=20, **kw)
    return SizingRules.from_settings(settings.for_strategy(None))


def test_estimate_from_returns() -> None:
    # by hand: wins 4 % and 2 % (mean 3 %), one loss of 2 %, one flat trade
    assert kelly_estimate([0.04, 0.02, -0.02, 0.0]) == pytest.approx((0.5, 1.5))
    assert kelly_estimate([0.01, 0.03]) == (1.0, math.inf)  # no loss yet
    assert kelly_estimate([-0.01]) == (0.0, 1.0)
    assert kelly_fraction(0.7, math.inf) == 0.7  # the limit of p − (1 − p) / b
    with pytest.raises(ValueError):
        kelly_estimate([])


def test_warm_up_without_a_prior_trades_a_scaled_cap() -> None:
    # 0.5 × 20 % = 10 % of 1 000 000 at 15 000 per lot → 6 lots (not 0)
    sized = size_order(rules(), **BASE, trade_returns=[0.05] * 19)
    assert sized.lots == 6


def test_warm_up_uses_the_prior_then_the_trades() -> None:
    r = rules(kelly_win_rate=0.55, kelly_payoff_ratio=1.5, kelly_min_trades=4)
    # prior: f* = 0.55 − 0.45 / 1.5 = 0.25, half → 12.5 % → 125 000 / 15 000 = 8 lots
    assert size_order(r, **BASE, trade_returns=[0.1, 0.1, 0.1]).lots == 8
    # 4 trades: p = 0.5, b = 0.06 / 0.02 = 3 → f* = 0.5 − 0.5 / 3 = 1/3, half 16.67 %
    # → floor(166 666 / 15 000) = 11 lots
    returns = [0.08, 0.04, -0.01, -0.03]
    assert size_order(r, **BASE, trade_returns=returns).lots == 11
    # an explicit win rate and payoff ratio still win over both
    assert size_order(r, **BASE, trade_returns=returns, win_rate=0.55,
                      payoff_ratio=1.5).lots == 8


def test_no_edge_after_the_warm_up_says_why() -> None:
    sized = size_order(rules(kelly_min_trades=2), **BASE, trade_returns=[-0.02, 0.01])
    assert sized.lots == 0 and "no edge" in sized.note


@pytest.mark.parametrize(
    ("settings", "text"),
    [
        ({"tradable_symbols": ["MSFT"]}, "risk.tradable_symbols: names none of the "
         "configured instruments (AAPL)"),
        ({"strategies": {"s": {"tradable_symbols": ["X"]}}},
         "risk.strategies.s.tradable_symbols: names none of the configured instruments"),
        ({"sizing_method": "fixed_quantity", "fixed_quantity": Decimal("0.5")},
         "risk.fixed_quantity: 0.5 is less than one lot (AAPL 1)"),
    ],
)
def test_settings_that_cannot_size_any_order_are_refused_at_start(
        settings: dict[str, object], text: str) -> None:
    with pytest.raises(ConfigError) as info:
        RiskEngine(RiskSettings(**settings), {"AAPL": AAPL})  # type: ignore[arg-type]
    assert str(info.value).startswith(text)


def test_blocking_every_symbol_is_a_deliberate_stop() -> None:
    RiskEngine(RiskSettings(blocked_symbols=["AAPL"]), {"AAPL": AAPL})


def test_the_engine_sizes_entries_for_every_driver() -> None:
    # RiskEngine.size_entry is what the backtest gate calls (and what a session should call)
    engine = RiskEngine(RiskSettings(sizing_method="kelly", kelly_fraction=0.5,
                                     kelly_max_pct=20, enforce_market_hours=False),
                        {"AAPL": AAPL})
    intent = OrderIntent("id", "s", "AAPL", Side.BUY, 1)
    assert engine.size_entry(intent, 1_000_000, 15_000).lots == 6  # warm-up: 10 %
    learned = engine.size_entry(intent, 1_000_000, 15_000, trade_returns=[0.04, -0.02] * 10)
    # p 0.5, b 2: f* = 0.25, half 12.5 % → 125 000 / 15 000 = 8
    assert learned.lots == 8
