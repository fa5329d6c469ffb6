"""The interactive report: one self-contained file with the candles, markers and indicators
of a real run; small for a million bars; static charts when the library is missing."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trading_strategy.api import Backtest, BacktestResult
from trading_strategy.backtesting import report_charts
from trading_strategy.backtesting.html_report import render_html
from trading_strategy.backtesting.indicator_plot import PlotSeries, plottable_indicators
from trading_strategy.backtesting.report_charts import chart_data_json, trade_times_ns
from trading_strategy.strategies.context import Context

needs_library = pytest.mark.skipif(
    report_charts.chart_library() is None,
    reason="lightweight-charts is not installed (npm ci copies it into web/static/vendor)")


@pytest.fixture(scope="module")
def run() -> BacktestResult:
    return Backtest("GOOG", "donchian_breakout", commission=0.001).run()


def _page(result: BacktestResult, **extra: Any) -> str:
    """The report page as the caller diff in ``api/result.py`` makes it."""
    engine = result.run.engine
    curve = result.report["equity_curve"]
    return render_html(result.report, price_time=curve.times, price_close=result.run.bars.close,
                       bars=result.run.bars,
                       indicators=plottable_indicators(engine.ctx), **extra)


def _data(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page,
                      flags=re.DOTALL)
    assert match is not None, "no chart data in the page"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


class _Resources(HTMLParser):
    """Every attribute that would make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "srcset", "poster", "data") or (tag == "link" and name == "href"):
                self.fetches.append(f"<{tag} {name}={value}>")
            if tag == "a" and name == "href":
                self.links.append(value or "")


@needs_library
def test_page_is_one_self_contained_file(run: BacktestResult) -> None:
    page = _page(run)
    parser = _Resources()
    parser.feed(page)
    assert parser.fetches == []
    # the only addresses: the attribution link, and the licence's in the library's header
    without_library = page.replace(report_charts.chart_library() or "", "")
    assert "<link" not in without_library and "@import" not in without_library
    assert "url(" not in without_library
    assert re.findall(r"https?://[^\s\"'<)]+", without_library) == [
        "https://www.apache.org/licenses/LICENSE-2.0", "https://www.tradingview.com/"]
    assert parser.links == ["https://www.tradingview.com/"]
    assert "TradingView Lightweight Charts" in page and "Apache License 2.0" in page
    assert page.count("<script>") == 3  # tables, the library, the charts; data is JSON
    assert "<svg" not in without_library  # no static charts beside the interactive ones


@needs_library
def test_page_holds_the_candles_markers_and_indicators(run: BacktestResult) -> None:
    data = _data(_page(run))
    bars = run.run.bars
    candles = data["candles"]
    assert len(candles["t"]) == len(bars)  # 2,148 bars: no aggregation needed
    assert candles["t"][0] == bars.ts[0] // 1_000_000_000
    for key, column in (("o", bars.open), ("h", bars.high), ("l", bars.low), ("c", bars.close)):
        np.testing.assert_allclose(candles[key], column, rtol=1e-7)
    # the strategy keeps the upper and lower lines; a context that records its declarations
    # (Context.indicators) also gives the middle line it declared and dropped
    names = [s["name"] for s in data["overlays"]]
    assert names[:2] == ["donchian(20) upper", "donchian(20) lower"]
    assert names[2:] == (["donchian(20) mid"] if hasattr(Context, "indicators") else [])
    assert [(p["title"], [s["name"] for s in p["lines"]]) for p in data["panels"]] == [
        ("atr(14)", ["atr(14)"])]
    atr = np.array(data["panels"][0]["lines"][0]["v"], dtype=float)
    assert np.isnan(atr[:13]).all() and np.isfinite(atr[13:]).all()  # null while warming up

    trades = run.report["trades"]
    rows = data["trades"]
    assert len(rows) == len(trades) > 0
    by_time = dict(zip(candles["t"], range(len(candles["t"])), strict=True))
    for k, (row, trade) in enumerate(zip(rows, trades, strict=True)):
        number, side, _, entry_t, entry_price, entry_text = row[:6]
        assert number == k + 1
        assert side == (1 if trade["side"] == "long" else -1)
        assert entry_price == pytest.approx(trade["entry_price"])
        assert entry_text == trade["entry_time"][:10]
        assert entry_t in by_time  # a marker sits on a candle
    closed = [r for r in rows if r[6] is not None]
    assert len(closed) == sum(1 for t in trades if t["exit_time"] is not None)
    assert data["equity"]["t"][0] == bars.ts[0] // 1_000_000_000
    assert min(data["equity"]["dd"]) == pytest.approx(-100 * run.report["metrics"]["max_drawdown"],
                                                      abs=1e-4)


@needs_library
def test_same_run_same_bytes(run: BacktestResult) -> None:
    assert _page(run) == _page(run)


def test_without_the_library_the_page_falls_back_to_static_charts(
        run: BacktestResult, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(report_charts, "VENDOR_SCRIPT", tmp_path / "absent.js")
    page = _page(run)
    assert "chart-data" not in page and "LightweightCharts" not in page
    assert page.count("<svg") == 3 and "npm ci" in page
    # the overlays still show on the static price chart
    assert 'class="line ind"' in page and "donchian(20) upper" in page
    assert "<h2>Statistics</h2>" in page and "Trades (" in page


def test_the_old_call_draws_the_static_page_unchanged(run: BacktestResult) -> None:
    curve = run.report["equity_curve"]
    page = render_html(run.report, price_time=curve.times, price_close=run.run.bars.close)
    assert page.count("<svg") == 3 and "chart-data" not in page and "npm ci" not in page


def test_bars_must_be_the_runs(run: BacktestResult) -> None:
    curve = run.report["equity_curve"]
    with pytest.raises(ValueError, match="bars has 10 bars"):
        render_html(run.report, price_time=curve.times, price_close=run.run.bars.close,
                    bars=run.run.bars.between(None, int(run.run.bars.ts[9])))


@needs_library
def test_user_named_indicators_cannot_break_out_of_the_script(run: BacktestResult) -> None:
    evil = "</script><script>alert(1)</script>"
    values = np.asarray(run.run.bars.close, dtype=np.float64) * 1.01
    curve = run.report["equity_curve"]
    page = render_html(run.report, price_time=curve.times, price_close=run.run.bars.close,
                       bars=run.run.bars, indicators=[PlotSeries(evil, values, "overlay")])
    assert evil not in page and "alert(1)" in page  # there, but as \u003c-escaped JSON text
    assert _data(page)["overlays"][0]["name"] == evil


def _synthetic(n: int) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    high = close * (1 + rng.uniform(0, 1e-3, n))
    low = close * (1 - rng.uniform(0, 1e-3, n))
    open_ = np.concatenate(([close[0]], close[:-1]))
    equity = 10_000 * close / close[0]
    peak = np.maximum.accumulate(equity)
    ts = np.datetime64("2020-01-01", "ns").astype(np.int64) + np.arange(n) * 60_000_000_000
    return {"ts": ts, "ohlc": (open_, high, low, close), "equity_ts": ts, "equity": equity,
            "bench": None, "drawdown": (equity / peak - 1) * 100, "trades": [],
            "indicators": [PlotSeries("sma", close, "overlay")]}


def test_a_million_bars_make_a_small_page_that_keeps_every_extreme() -> None:
    n = 1_000_000
    inputs = _synthetic(n)
    text, info = chart_data_json(**inputs)
    assert len(text) < 1_000_000, f"{len(text):,} bytes of chart data for a million bars"
    data = json.loads(text)
    assert info["candles"] == len(data["candles"]["t"]) <= report_charts.MAX_CANDLES
    step = info["step"]
    open_, high, low, close = inputs["ohlc"]
    # each candle is its bucket's open, high, low and close
    for k in (0, 1, 1234, len(data["candles"]["t"]) - 1):
        lo, hi = k * step, min(n, (k + 1) * step)
        assert data["candles"]["o"][k] == pytest.approx(open_[lo], rel=1e-7)
        assert data["candles"]["h"][k] == pytest.approx(high[lo:hi].max(), rel=1e-7)
        assert data["candles"]["l"][k] == pytest.approx(low[lo:hi].min(), rel=1e-7)
        assert data["candles"]["c"][k] == pytest.approx(close[hi - 1], rel=1e-7)
    assert max(data["candles"]["h"]) == pytest.approx(high.max(), rel=1e-7)
    equity = np.array(data["equity"]["v"])
    assert equity.max() == pytest.approx(inputs["equity"].max(), rel=1e-7)
    assert equity.min() == pytest.approx(inputs["equity"].min(), rel=1e-7)
    assert min(data["equity"]["dd"]) == pytest.approx(inputs["drawdown"].min(), abs=1e-3)
    assert len(equity) <= 2 * report_charts.MAX_EQUITY_POINTS


def test_sub_second_bars_get_distinct_chart_times() -> None:
    inputs = _synthetic(10)
    inputs["ts"] = inputs["equity_ts"] = np.arange(10, dtype=np.int64) * 100_000_000  # 0.1 s
    data = json.loads(chart_data_json(**inputs)[0])
    assert np.all(np.diff(data["candles"]["t"]) > 0)
    assert np.all(np.diff(data["equity"]["t"]) > 0)


def test_trade_times_read_the_reports_formats() -> None:
    got = trade_times_ns(["2024-01-02", "2024-01-02T10:30:00Z", "2024-01-02T10:30:00+00:00",
                          None, "2024-01-02T10:30:00.250000Z"])
    day = int(np.datetime64("2024-01-02", "ns").astype(np.int64))
    half_past = day + (10 * 3600 + 30 * 60) * 1_000_000_000
    assert got.tolist() == [day, half_past, half_past, -1, half_past + 250_000_000]


def test_no_bars_make_empty_charts_not_an_error() -> None:
    empty = np.zeros(0)
    text, info = chart_data_json(
        ts=np.zeros(0, dtype=np.int64), ohlc=(empty, empty, empty, empty),
        equity_ts=np.zeros(0, dtype=np.int64), equity=empty, bench=None, drawdown=empty,
        trades=[], indicators=[])
    data = json.loads(text)
    assert data["candles"]["t"] == [] and data["equity"]["v"] == [] and info["candles"] == 0
