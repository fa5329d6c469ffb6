"""BacktestResult: the report, its files and its notebook display."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from trading_strategy.api import Backtest, BacktestResult
from trading_strategy.api.display import drawdown
from trading_strategy.backtesting.report import dumps


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    return Backtest("GOOG", "sma_crossover", commission=0.001, slippage=2).run(fast=10, slow=30)


def test_json_is_the_report(result: BacktestResult, tmp_path: Path) -> None:
    path = tmp_path / "out" / "r.json"
    text = result.to_json(path)
    assert text == dumps(result.report) == path.read_text()
    assert json.loads(text)["metrics"]["trades"] == result.report["metrics"]["trades"]


def test_html_is_self_contained(result: BacktestResult, tmp_path: Path) -> None:
    page = result.to_html(tmp_path / "r.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "GOOG" in page
    # nothing is fetched: the addresses in the page (the inlined chart library's licence
    # and attribution link) are text and links, never a resource to load
    assert not re.search(r"""\b(?:src|srcset)\s*=\s*["']?(?:https?:)?//|<link\b|@import|"""
                         r"""url\(\s*["']?(?:https?:)?//""", page)


def test_notebook_display_shows_stats_and_an_inline_chart(result: BacktestResult) -> None:
    shown = result._repr_html_()
    assert "<svg" in shown and "<polyline" in shown
    assert "Sharpe" in shown and "Max drawdown" in shown
    assert "436.92%" in shown  # total return, formatted as in the HTML report
    assert "<script" not in shown and "http" not in shown
    assert "436.92% return, 32 trades" in repr(result)


def test_drawdown_is_the_fall_from_the_running_peak() -> None:
    values = drawdown(np.array([100.0, 120.0, 90.0, 130.0, 65.0]))
    assert values.tolist() == pytest.approx([0.0, 0.0, -0.25, 0.0, -0.5])


def test_pandas_views(result: BacktestResult) -> None:
    pd = pytest.importorskip("pandas")
    equity = result.equity
    assert list(equity.columns) == ["equity", "drawdown", "position"]
    assert isinstance(equity.index, pd.DatetimeIndex) and str(equity.index.tz) == "UTC"
    assert len(equity) == result.report["data"]["bars"]
    assert equity["equity"].iloc[-1] == result.report["metrics"]["final_equity"]
    assert -equity["drawdown"].min() == pytest.approx(result.report["metrics"]["max_drawdown"])
    assert result.stats["trades"] == result.report["metrics"]["trades"]
    assert len(result.trades) == len(result.report["trades"])
    orders = result.orders
    by_status = result.report["orders"]["by_status"]
    assert orders["status"].value_counts().to_dict() == by_status
    assert len(result.fills) == result.report["orders"]["fills"]
    assert str(result.fills["time"].dt.tz) == "UTC"
