"""The portfolio page with the interactive equity chart: the total, one line per strategy
and the total's drawdown, in the same self-contained form as the single report."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from trading_strategy.backtesting import report_charts
from trading_strategy.backtesting.portfolio import Sleeve, run_portfolio
from trading_strategy.backtesting.portfolio_html import render_portfolio_html
from trading_strategy.backtesting.portfolio_report import build_portfolio_report
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.market_data.files import load_bars
from trading_strategy.risk import RiskSettings


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    settings = BacktestSettings(initial_cash=Decimal(20_000))
    sleeves = [Sleeve("sma</script>", "sma_crossover", {}, load_bars("GOOG").bars, settings),
               Sleeve("rsi", "rsi_reversion", {}, load_bars("MSFT").bars, settings)]
    return build_portfolio_report(run_portfolio(sleeves, RiskSettings()), name="demo")


@pytest.mark.skipif(report_charts.chart_library() is None,
                    reason="lightweight-charts is not installed (npm ci)")
def test_interactive_portfolio_page_holds_every_strategy(report: dict[str, Any]) -> None:
    page = render_portfolio_html(report, interactive=True)
    assert page == render_portfolio_html(report, interactive=True)
    match = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page,
                      flags=re.DOTALL)
    assert match is not None
    data = json.loads(match.group(1))
    assert data["candles"] is None and data["trades"] == []
    assert [line["name"] for line in data["equity"]["lines"]] == ["sma</script>", "rsi"]
    assert "sma</script>" not in page  # escaped in the JSON and in the tables alike
    total = np.array([p["equity"] for p in report["equity_curve"]], dtype=float)
    assert data["equity"]["v"][0] == pytest.approx(total[0])
    assert max(data["equity"]["v"]) == pytest.approx(total.max())
    assert 'id="chart-price"' not in page and "Attribution" in page


def test_portfolio_page_is_static_unless_asked(report: dict[str, Any],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert "chart-data" not in render_portfolio_html(report)
    monkeypatch.setattr(report_charts, "VENDOR_SCRIPT", report_charts.VENDOR_SCRIPT.with_name(
        "absent.js"))
    page = render_portfolio_html(report, interactive=True)
    assert "chart-data" not in page and page.count('class="line strategy"') == 1
