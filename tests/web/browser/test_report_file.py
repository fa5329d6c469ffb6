"""The static HTML report opened from disk (``file://``) in chromium: it draws its charts
offline, zooms, pans with the other chart and reads values out under the crosshair."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.web.browser.conftest import ARTIFACTS

from trading_strategy.api import Backtest
from trading_strategy.backtesting import report_charts
from trading_strategy.backtesting.html_report import render_html
from trading_strategy.backtesting.indicator_plot import plottable_indicators
from trading_strategy.backtesting.portfolio import Sleeve, run_portfolio
from trading_strategy.backtesting.portfolio_html import render_portfolio_html
from trading_strategy.backtesting.portfolio_report import build_portfolio_report
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.market_data.files import load_bars
from trading_strategy.risk import RiskSettings

pytestmark = pytest.mark.skipif(
    report_charts.chart_library() is None,
    reason="lightweight-charts is not installed (npm ci copies it into web/static/vendor)")


def write_report(path: Path, strategy: str = "donchian_breakout") -> Path:
    """A real run's report, built as ``BacktestResult.to_html`` does with the caller diff."""
    result = Backtest("GOOG", strategy, commission=0.001).run()
    engine = result.run.engine
    curve = result.report["equity_curve"]
    path.write_text(render_html(
        result.report, price_time=curve.times, price_close=result.run.bars.close,
        bars=result.run.bars, indicators=plottable_indicators(engine.ctx)),
        encoding="utf-8")
    return path


def write_portfolio_report(path: Path) -> Path:
    settings = BacktestSettings(initial_cash=Decimal(20_000))
    sleeves = [Sleeve("sma_goog", "sma_crossover", {}, load_bars("GOOG").bars, settings),
               Sleeve("rsi_msft", "rsi_reversion", {}, load_bars("MSFT").bars, settings)]
    report = build_portfolio_report(run_portfolio(sleeves, RiskSettings()), name="demo")
    path.write_text(render_portfolio_html(report, interactive=True), encoding="utf-8")
    return path


@pytest.fixture
def report_page(chromium_browser: Any, tmp_path: Path) -> Iterator[Any]:
    yield from _opened(chromium_browser, write_report(tmp_path / "report.html"))


@pytest.fixture
def portfolio_page(chromium_browser: Any, tmp_path: Path) -> Iterator[Any]:
    yield from _opened(chromium_browser, write_portfolio_report(tmp_path / "portfolio.html"))


def _opened(chromium_browser: Any, path: Path) -> Iterator[Any]:
    """The page opened from a file, with every request that is not that file refused."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 1600})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None)

    def outside(route: Any) -> None:
        problems.append(f"request: {route.request.url}")
        route.abort()

    context.route(lambda url: not url.startswith("file://"), outside)
    page.goto(path.as_uri())
    page.locator("body[data-charts=ready]").wait_for(timeout=15_000)
    yield page
    context.close()
    assert problems == [], f"the report reached out or complained: {problems}"


def _range(page: Any, chart: str) -> dict[str, float]:
    got: dict[str, float] = page.evaluate(
        f"reportCharts.{chart}.timeScale().getVisibleLogicalRange()")
    return got


def _time_range(page: Any, chart: str) -> dict[str, int]:
    got: dict[str, int] = page.evaluate(f"reportCharts.{chart}.timeScale().getVisibleRange()")
    return got


def _settle(page: Any) -> None:
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def test_the_report_draws_its_charts_offline(report_page: Any) -> None:
    page = report_page
    assert page.locator("#chart-price canvas").count() > 0
    assert page.locator("#chart-equity canvas").count() > 0
    assert page.evaluate("reportCharts.candles.data().length") == 2148
    assert page.evaluate("reportCharts.markers") > 0
    # candles pane plus the ATR panel; equity pane plus drawdown
    assert page.evaluate("reportCharts.price.panes().length") == 2
    assert page.evaluate("reportCharts.equity.panes().length") == 2
    legend = page.locator("#legend-price").inner_text()
    assert "donchian(20) upper" in legend and "atr(14)" in legend
    assert "Equity" in page.locator("#legend-equity").inner_text()
    page.screenshot(path=str(ARTIFACTS / "report_file.png"), full_page=True)


def test_wheel_zooms_and_the_other_chart_follows(report_page: Any) -> None:
    page = report_page
    before = _range(page, "price")
    box = page.locator("#chart-price").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 150)
    for _ in range(4):
        page.mouse.wheel(0, -800)
        page.wait_for_timeout(100)
    _settle(page)
    after = _range(page, "price")
    assert after["to"] - after["from"] < 0.8 * (before["to"] - before["from"]), (before, after)
    price_span, equity_span = _time_range(page, "price"), _time_range(page, "equity")
    day = 86_400 * 5  # the equity points are a subset of the bars: ends within a few days
    assert abs(price_span["from"] - equity_span["from"]) <= day
    assert abs(price_span["to"] - equity_span["to"]) <= day

    page.locator("#chart-reset").click()
    _settle(page)
    reset = _range(page, "price")
    assert reset["to"] - reset["from"] >= before["to"] - before["from"] - 1


def test_the_crosshair_reads_out_values_on_both_charts(report_page: Any) -> None:
    page = report_page
    last = page.locator("#legend-price").inner_text()
    box = page.locator("#chart-price").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 120)
    _settle(page)
    price_legend = page.locator("#legend-price").inner_text()
    equity_legend = page.locator("#legend-equity").inner_text()
    assert price_legend != last
    day = price_legend.split()[0]
    assert len(day) == 10 and day.startswith("20")
    assert equity_legend.split()[0] == day  # the equity chart shows the same bar


def test_the_portfolio_report_draws_every_strategy_and_zooms(portfolio_page: Any) -> None:
    page = portfolio_page
    assert page.locator("#chart-equity canvas").count() > 0
    assert page.evaluate("reportCharts.price") is None
    legend = page.locator("#legend-equity").inner_text()
    assert "Total" in legend and "sma_goog" in legend and "rsi_msft" in legend
    before = _range(page, "equity")
    box = page.locator("#chart-equity").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 120)
    for _ in range(4):
        page.mouse.wheel(0, -800)
        page.wait_for_timeout(100)
    _settle(page)
    after = _range(page, "equity")
    assert after["to"] - after["from"] < 0.8 * (before["to"] - before["from"]), (before, after)
    page.screenshot(path=str(ARTIFACTS / "report_portfolio.png"), full_page=True)
