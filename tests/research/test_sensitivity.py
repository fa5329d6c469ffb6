from __future__ import annotations

import json
import warnings
from dataclasses import replace
from decimal import Decimal

import pytest

from trading_strategy import Backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.core.errors import ConfigError
from trading_strategy.kernel.costs import (
    AtrSlippage,
    FixedBpsSlippage,
    FixedCommission,
    NoSlippage,
    PercentCommission,
    PerUnitCommission,
    RangeSlippage,
    SlippageModel,
)
from trading_strategy.research.sensitivity import (
    Assumptions,
    fill_sensitivity,
    html_section,
    scenario_settings,
    text_block,
)

DAY_NS = 86_400 * 10**9


def _backtest(commission: float) -> Backtest:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest("GOOG", "sma_crossover", store=False, commission=commission)


def test_scenarios_move_only_the_execution_knobs() -> None:
    given = BacktestSettings(commission=PercentCommission(Decimal("0.001")),
                             slippage=FixedBpsSlippage(Decimal(2)), latency_bars=2,
                             volume_participation=Decimal("0.1"), risk_free_rate=0.02)
    s = scenario_settings(given, DAY_NS)
    assert s["neutral"] is given
    opt, pes = s["optimistic"], s["pessimistic"]
    assert opt.commission == PercentCommission(Decimal(0))
    assert opt.slippage == NoSlippage()
    assert (opt.latency_bars, opt.latency_ms, opt.volume_participation) == (1, None, None)
    assert pes.commission == PercentCommission(Decimal("0.002"))
    assert pes.slippage == FixedBpsSlippage(Decimal(6))  # 3 x 2 bps beats the 5 bps floor
    assert pes.latency_bars == 3 and pes.volume_participation == Decimal("0.1")
    for scenario in (opt, pes):  # what is not execution stays as given
        assert scenario.risk_free_rate == 0.02 and scenario.size == given.size
        assert scenario.initial_cash == given.initial_cash


def test_pessimistic_scales_every_model() -> None:
    base = BacktestSettings()
    cases: list[tuple[SlippageModel, SlippageModel]] = [
        (NoSlippage(), FixedBpsSlippage(Decimal(5))),
        (FixedBpsSlippage(Decimal(1)), FixedBpsSlippage(Decimal(5))),
        (RangeSlippage(Decimal("0.1")), RangeSlippage(Decimal("0.3"))),
        (AtrSlippage(Decimal("0.5"), 10), AtrSlippage(Decimal("1.5"), 10)),
    ]
    for given, expected in cases:
        assert scenario_settings(replace(base, slippage=given),
                                 DAY_NS)["pessimistic"].slippage == expected
    per_unit = replace(base, commission=PerUnitCommission(Decimal("0.01"), Decimal(1)))
    assert scenario_settings(per_unit, DAY_NS)["pessimistic"].commission == \
        PerUnitCommission(Decimal("0.02"), Decimal(2))
    fixed = replace(base, commission=FixedCommission(Decimal(3)))
    assert scenario_settings(fixed, DAY_NS)["pessimistic"].commission == \
        FixedCommission(Decimal(6))
    # latency given in ms grows by one bar's length (one minute here)
    intraday = replace(base, latency_ms=250)
    assert scenario_settings(intraday, 60 * 10**9)["pessimistic"].latency_ms == 60_250
    with pytest.raises(ConfigError, match="slippage_multiple"):
        Assumptions(slippage_multiple=Decimal("0.5"))


def test_neutral_is_the_run_as_given_and_a_robust_edge_passes() -> None:
    backtest = _backtest(0.0)
    result = fill_sensitivity(backtest, workers=0)
    plain = backtest.run().run.metrics.as_dict()
    neutral = result.scenarios["neutral"].metrics
    assert neutral == {k: plain[k] for k in neutral}
    opt, pes = (result.scenarios[n].metrics for n in ("optimistic", "pessimistic"))
    # worse execution, smaller return; no costs at all given: optimistic equals neutral
    assert opt["total_return"] == neutral["total_return"]
    assert float(pes["total_return"] or 0) < float(neutral["total_return"] or 0)
    assert result.code == "robust" and not result.warning
    assert "survives" in result.message


def test_an_edge_that_costs_eat_warns_everywhere() -> None:
    # a two-bar/three-bar crossover trades every few days: profitable only without costs
    result = fill_sensitivity(_backtest(0.003), {"fast": 2, "slow": 3}, workers=0)
    opt, neu = result.scenarios["optimistic"], result.scenarios["neutral"]
    assert opt.has_edge and not neu.has_edge
    assert result.code == "optimistic_only" and result.warning
    data = result.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["verdict"]["warning"] is True
    assert data["scenarios"]["neutral"]["settings"]["commission"]["rate"] == 0.003
    text = text_block(data)
    assert "WARNING: the edge exists only under optimistic fills" in text
    assert text.splitlines()[1].split()[:3] == ["scenario", "total", "return"]
    page = html_section(data)
    assert page.startswith('<section class="sensitivity">') and "Warning: " in page
    assert page.count("<tr>") == 4


def test_an_edge_the_pessimistic_fills_erase_is_fragile() -> None:
    result = fill_sensitivity(_backtest(0.0015), {"fast": 2, "slow": 3}, workers=0)
    assert result.scenarios["neutral"].has_edge
    assert not result.scenarios["pessimistic"].has_edge
    assert result.code == "fragile" and result.warning
    assert "vanishes under pessimistic fills" in result.text()


def test_a_refused_parameter_is_an_error_verdict_not_a_crash() -> None:
    result = fill_sensitivity(_backtest(0.0), {"fast": 30, "slow": 10}, workers=0)
    assert result.code == "error" and result.warning
    assert all(s.status == "invalid" for s in result.scenarios.values())
    assert "invalid" in result.text()


def test_a_process_pool_gives_the_same_result() -> None:
    backtest = _backtest(0.001)
    inline = fill_sensitivity(backtest, {"fast": 5, "slow": 20}, workers=0)
    pooled = fill_sensitivity(backtest, {"fast": 5, "slow": 20}, workers=2)
    assert pooled.to_dict() == inline.to_dict()
