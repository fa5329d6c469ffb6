"""Every bad argument of Backtest is one ArgumentError (a ValueError) naming it and the fix."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trading_strategy.api import ArgumentError, Backtest
from trading_strategy.core.errors import ConfigError, ParameterError
from trading_strategy.kernel import costs
from trading_strategy.kernel.sizing import SizeKind
from trading_strategy.risk.settings import RiskSettings


def bt(**kw: Any) -> Backtest:
    return Backtest("GOOG", "sma_crossover", **kw)


@pytest.mark.parametrize(("kw", "message"), [
    ({"cash": -5}, "cash: must be > 0"),
    ({"cash": "lots"}, "cash: expected a number such as 10_000"),
    ({"cash": True}, "cash: expected a number"),
    ({"commission": "abc"}, r"commission: expected a number such as 0.001"),
    ({"commission": 0.5 + 1}, "commission: commission rate is a fraction of notional"),
    ({"commission": -0.001}, "commission: commission rate must be a non-negative"),
    ({"commission": costs.RangeSlippage(Decimal("0.1"))},
     "commission: RangeSlippage is a slippage model; pass it as slippage="),
    ({"slippage": costs.PercentCommission(Decimal("0.001"))},
     "slippage: PercentCommission is a commission model"),
    ({"slippage": "wide"}, r"slippage: expected a number such as 2 \(basis points\)"),
    ({"size": "half"}, "invalid size 'half': use a quantity"),
    ({"size": [1]}, "size: expected 'all-in'"),
    ({"size": 0.5}, r"size 0.5 is not a whole number of lots.*50%"),
    ({"risk": "strict"}, r"risk: expected a dict of \[risk\] settings"),
    ({"risk": {"max_drawdown_pct": 500}}, "risk: max_drawdown_pct"),
    ({"risk": {"no_such_key": 1}}, "risk: no_such_key: unknown key"),
    ({"risk": {"max_drawdown": 20}}, "did you mean max_drawdown_pct"),
    ({"latency_bars": 0}, "latency must be at least 1 bar"),
    ({"latency_bars": 1.5}, "latency_bars: expected a whole number"),
    ({"indicators": "fast"}, "indicators: expected 'vectorized' or 'incremental'"),
    ({"volume_cap": 2}, "volume participation must be in"),
    ({"tick_size": "x"}, "tick_size: expected a number"),
    ({"periods_per_year": -1}, "periods per year must be a number > 0"),
    ({"periods_per_year": "x"}, "periods_per_year: expected a number such as 252"),
    ({"risk_free_rate": "x"}, "risk_free_rate: expected a number"),
    ({"latency_ms": -1}, "latency in ms must be >= 0"),
    ({"timeframe": "3x"}, "invalid timeframe '3x'"),
    ({"lot_size": 0}, "lot_size must be > 0"),
    ({"symbol": 5}, "symbol: expected a name"),
])
def test_bad_arguments(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgumentError, match=message) as caught:
        bt(**kw)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ConfigError)
    assert "\n" not in str(caught.value)


def test_good_arguments_reach_the_settings() -> None:
    backtest = bt(cash="25000", commission=costs.PerUnitCommission(Decimal("0.005"),
                                                                   Decimal("1")),
                  slippage=costs.AtrSlippage(Decimal("0.1")), size="25%",
                  risk={"max_drawdown_pct": 20}, latency_bars=2, indicators="incremental")
    settings = backtest.settings
    assert settings.initial_cash == Decimal(25000)
    assert isinstance(settings.commission, costs.PerUnitCommission)
    assert isinstance(settings.slippage, costs.AtrSlippage)
    assert settings.size.kind is SizeKind.PERCENT and settings.size.value == Decimal("0.25")
    assert backtest.risk.max_drawdown_pct == 20
    assert settings.latency_bars == 2
    # a float is taken as it prints, not as its binary expansion
    assert bt(commission=0.001).settings.commission == costs.PercentCommission(Decimal("0.001"))
    assert bt(slippage=2).settings.slippage == costs.FixedBpsSlippage(Decimal(2))
    assert bt(risk=RiskSettings(max_drawdown_pct=10)).risk.max_drawdown_pct == 10
    assert bt().risk == RiskSettings()  # the CLI's defaults


def test_bad_strategy_parameters_name_the_valid_ones() -> None:
    with pytest.raises(ParameterError, match=r"unknown parameter 'fastest'.*valid parameters"):
        bt().run(fastest=3)
    with pytest.raises(ParameterError, match="fast"):
        bt().run(fast=40, slow=30)


def test_short_history_names_the_api_argument() -> None:
    short = Backtest("GOOG", "sma_crossover", start="2012-06-01")
    with pytest.raises(ArgumentError, match="pass allow_short_history=True"):
        short.run()
    result = Backtest("GOOG", "sma_crossover", start="2012-06-01",
                      allow_short_history=True).run()
    assert result.report["data"]["start"] == "2012-06-01"
