"""RiskSettings: defaults, validation and per-strategy resolution."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from trading_strategy.risk.settings import RiskOverrides, RiskSettings


def errors(**kw: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        RiskSettings(**kw)
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in info.value.errors()]


def test_defaults_are_documented_ones() -> None:
    s = RiskSettings()
    eff = s.for_strategy(None)
    assert eff.sizing_method == "strategy" and eff.atr_period == 14
    assert eff.max_position_pct is None and eff.max_drawdown_pct is None
    assert s.check_buying_power and s.initial_margin_pct == 100
    assert s.enforce_market_hours and s.resize_to_fit and s.day_calendar == "auto"
    assert eff.flatten_on_halt  # a drawdown halt closes positions unless told otherwise
    assert eff.kelly_min_trades == 20


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("max_position_pct", 150, "must be greater than 0 and at most 100, got 150"),
        ("max_position_pct", -1, "must be greater than 0 and at most 100, got -1"),
        ("max_position_pct", 0, "must be greater than 0 and at most 100, got 0"),
        ("max_drawdown_pct", 0, "must be greater than 0 and at most 100, got 0"),
        ("max_leverage", -2, "must be greater than 0 and at most 100, got -2"),
        ("kelly_fraction", 1.5, "must be greater than 0 and at most 1, got 1.5"),
        ("max_order_notional", Decimal("-5"),
         "money amount greater than 0 and at most 1E+15, got -5"),
        ("time_exit_after", "5 days", "must be a duration such as 90m, 4h or 3d"),
        ("max_open_orders", 0, "must be a whole number from 1 to 1,000,000, got 0"),
        ("max_position_pct", float("nan"), "must be greater than 0 and at most 100, got nan"),
    ],
)
def test_bad_values_name_the_key(key: str, value: object, text: str) -> None:
    [(loc, msg)] = errors(**{key: value})
    assert loc == key
    assert text in msg


def test_unknown_key() -> None:
    [(loc, msg)] = errors(max_positon_pct=5)
    assert loc == "max_positon_pct" and "Extra inputs" in msg
    with pytest.raises(ValidationError):
        RiskOverrides(max_gross_exposure=Decimal(5))  # portfolio key


def test_inconsistent_values() -> None:
    [(_, msg)] = errors(stop_loss_pct=2, stop_loss_atr_multiple=2)
    assert "stop_loss_atr_multiple: cannot be combined with stop_loss_pct" in msg
    [(_, msg)] = errors(sizing_method="kelly", kelly_fraction=0.5)
    assert "kelly_max_pct: required when sizing_method is 'kelly'" in msg
    [(_, msg)] = errors(sizing_method="volatility_target", risk_per_trade_pct=1)
    assert "needs a stop distance" in msg
    [(_, msg)] = errors(fixed_fraction_pct=5)
    assert "fixed_fraction_pct: only used with sizing_method 'fixed_fraction'" in msg
    [(_, msg)] = errors(tradable_symbols=["AAPL"], blocked_symbols=["AAPL"])
    assert "blocked_symbols: AAPL also in tradable_symbols" in msg
    [(_, msg)] = errors(strategies={"sma": {"sizing_method": "fixed_fraction"}})
    assert "strategies.sma.fixed_fraction_pct: required" in msg


def test_symbols_accept_comma_separated_text() -> None:
    assert RiskSettings(blocked_symbols="GME, AMC").blocked_symbols == ["GME", "AMC"]


def test_overrides_resolution() -> None:
    s = RiskSettings(
        max_position_pct=10, max_daily_loss_pct=3, max_drawdown_pct=20, stop_loss_pct=2,
        sizing_method="fixed_fraction", fixed_fraction_pct=5, flatten_on_halt=True,
        strategies={
            "sma": RiskOverrides(max_position_pct=5, max_drawdown_pct=10,
                                 stop_loss_atr_multiple=3),
            "rsi": RiskOverrides(sizing_method="kelly", kelly_fraction=0.5, kelly_max_pct=10),
        },
    )
    top = s.for_strategy(None)
    assert top.max_daily_loss_pct == 3 and top.max_drawdown_pct == 20  # the portfolio's
    sma = s.for_strategy("sma")
    assert sma.max_position_pct == 5
    assert sma.max_drawdown_pct == 10 and sma.max_daily_loss_pct is None  # loss keys: own only
    # setting stop_loss_atr_multiple replaces the inherited stop group (no conflict)
    assert sma.stop_loss_atr_multiple == 3 and sma.stop_loss_pct is None
    assert sma.sizing_method == "fixed_fraction" and sma.fixed_fraction_pct == 5  # inherited
    assert sma.flatten_on_halt
    rsi = s.for_strategy("rsi")
    # setting any sizing key replaces the sizing group: fixed_fraction_pct is not inherited
    assert rsi.sizing_method == "kelly" and rsi.fixed_fraction_pct is None
    other = s.for_strategy("donchian")
    assert other.max_position_pct == 10 and other.max_drawdown_pct is None
