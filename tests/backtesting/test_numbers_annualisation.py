"""Annualisation follows the instrument's calendar and the bar length (issue 8, item 2).

The bundled EURUSD hourly sample is the independent check: its bars per calendar year and
its CAGR over calendar time (first to last timestamp) are counted here from the CSV and
the equity curve, not from the code under test.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import trading_strategy
from trading_strategy.backtesting.html_report import render_html
from trading_strategy.backtesting.report import build_report
from trading_strategy.backtesting.runner import BacktestResult, run_backtest
from trading_strategy.backtesting.settings import BacktestSettings
from trading_strategy.cli import main
from trading_strategy.cli.summary import format_summary
from trading_strategy.market_data.files import load_bars

SAMPLES = Path(trading_strategy.__file__).parent / "data" / "samples"
YEAR_S = 365.25 * 86_400


def _times(path: Path) -> list[datetime]:
    with path.open() as fh:
        return [datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00"))
                for r in csv.DictReader(fh)]


def _eurusd(periods_per_year: float | None = None) -> BacktestResult:
    bars = load_bars("EURUSD").bars
    return run_backtest("sma_crossover", bars,
                        BacktestSettings(periods_per_year=periods_per_year),
                        allow_short_history=True)


def test_eurusd_hourly_uses_the_fx_calendar_and_matches_its_real_bar_count() -> None:
    times = _times(SAMPLES / "EURUSD_1h.csv")
    years = (times[-1] - times[0]).total_seconds() / YEAR_S
    counted = len(times) / years  # 5,000 bars over 294.25 days: 6,206 a year
    result = _eurusd()
    assert result.periods_per_year == 6_240  # 24 h x 260 days (the old rule: 1,638)
    assert result.periods_per_year == pytest.approx(counted, rel=0.01)


def test_eurusd_cagr_and_volatility_agree_with_calendar_time() -> None:
    result = _eurusd()
    rep = build_report(result)
    curve = rep["equity_curve"]
    first, last = curve[0], curve[-1]
    years = (datetime.fromisoformat(last["time"].replace("Z", "+00:00"))
             - datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
             ).total_seconds() / YEAR_S
    calendar_cagr = (last["equity"] / first["equity"]) ** (1 / years) - 1
    # about 7.8 % a year; the old 1,638 bars/year gave 2.0 %
    assert rep["metrics"]["cagr"] == pytest.approx(calendar_cagr, rel=0.02)
    equity = np.array([p["equity"] for p in curve])
    returns = equity[1:] / equity[:-1] - 1
    bars_per_year = len(curve) / years
    assert rep["metrics"]["volatility"] == pytest.approx(
        float(np.std(returns, ddof=1)) * bars_per_year ** 0.5, rel=0.01)


def test_every_report_states_the_assumption() -> None:
    rep = build_report(_eurusd())
    annual = rep["settings"]["annualisation"]
    assert annual == {
        "periods_per_year": 6_240, "source": "calendar", "calendar": "FX",
        "rule": "FX 24h × 260 days, 1h bars", "calendar_periods_per_year": 6_240,
        "text": "annualised with 6,240 bars/year: FX 24h × 260 days, 1h bars"}
    assert rep["settings"]["periods_per_year"] == 6_240
    assert annual["text"] in format_summary(rep)
    page = render_html(rep, price_time=[p["time"] for p in rep["equity_curve"]],
                       price_close=[1.0] * len(rep["equity_curve"]))
    assert "annualised with 6,240 bars/year: FX 24h × 260 days, 1h bars" in page
    assert json.loads(json.dumps(rep))["settings"]["annualisation"] == annual


def test_an_override_wins_and_says_so() -> None:
    result = _eurusd(periods_per_year=1_000)
    rep = build_report(result)
    assert result.periods_per_year == 1_000
    annual = rep["settings"]["annualisation"]
    assert annual["source"] == "override" and annual["calendar_periods_per_year"] == 6_240
    assert annual["text"] == ("annualised with 1,000 bars/year: overridden by "
                              "--periods-per-year (the calendar rule gives 6,240: FX 24h × "
                              "260 days, 1h bars)")
    # the override changes the statistics: CAGR over 5 years of 1,000 bars, not 0.8
    total = rep["metrics"]["total_return"]
    assert rep["metrics"]["cagr"] == pytest.approx((1 + total) ** (1_000 / 5_000) - 1)


def test_cli_summary_states_the_assumption(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG",
                 "--no-store"]) == 0
    out = capsys.readouterr().out
    assert "annualised with 252 bars/year: XNYS 252 trading days, 1d bars" in out
