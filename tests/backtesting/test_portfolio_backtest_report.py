"""The portfolio report and its HTML page: deterministic, escaped, one curve per strategy."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from trading_strategy.backtesting.portfolio import Sleeve, run_portfolio
from trading_strategy.backtesting.portfolio_html import _aligned, render_portfolio_html
from trading_strategy.backtesting.portfolio_report import build_portfolio_report
from trading_strategy.backtesting.report import dumps
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.market_data.files import load_bars
from trading_strategy.risk import RiskSettings


def _report(name: str = "demo") -> dict:  # type: ignore[type-arg]
    settings = BacktestSettings(initial_cash=Decimal(20_000))
    sleeves = [Sleeve("sma<b>", "sma_crossover", {}, load_bars("GOOG").bars, settings),
               Sleeve("rsi", "rsi_reversion", {}, load_bars("MSFT").bars, settings)]
    result = run_portfolio(sleeves, RiskSettings(max_drawdown_pct=30))
    return build_portfolio_report(result, name=name)


def test_the_same_run_gives_the_same_bytes() -> None:
    first, second = _report(), _report()
    assert dumps(first) == dumps(second)
    assert render_portfolio_html(first) == render_portfolio_html(second)


def test_the_page_escapes_names_and_draws_every_strategy() -> None:
    page = render_portfolio_html(_report(name="x<script>"))
    assert "<script>alert" not in page and "x<script>" not in page
    assert "sma&lt;b&gt;" in page and "sma<b>" not in page
    assert page.count('class="line s0"') == page.count('class="line s1"') == 1
    assert page.count('class="line strategy"') == 1
    assert page.count("<details>") == 2


def test_a_strategy_curve_holds_its_capital_before_its_first_bar() -> None:
    union = ["2020-01-01", "2020-01-02", "2020-01-03T12:00:00Z", "2020-01-04"]
    curve = [{"time": "2020-01-02", "equity": 110}, {"time": "2020-01-04", "equity": 90}]
    got = _aligned(curve, [f"{t}T00:00:00Z" if len(t) == 10 else t for t in union], 100.0)
    assert np.array_equal(got, [100.0, 110.0, 110.0, 90.0])


def test_the_report_keeps_each_strategys_own_figures() -> None:
    report = _report()
    strategies = report["portfolio"]["strategies"]
    assert [s["name"] for s in strategies] == ["sma<b>", "rsi"]
    goog = strategies[0]
    assert goog["data"]["symbol"] == "GOOG" and goog["data"]["start"] == "2004-08-19"
    # the union of times starts with MSFT's first bar; GOOG's curve starts with its own
    assert report["data"]["start"] == "2000-03-01"
    assert goog["equity_curve"][0] == {"time": "2004-08-19", "equity": 20000}
    assert report["equity_curve"][0]["equity"] == 40000
