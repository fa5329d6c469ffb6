"""Closed vs all trades, labelled the same in every report (issue 8, item 9).

sma_crossover on the bundled GOOG sample ends with a position open: 33 trades listed, 32
closed. The statistics (win rate, profit factor, ...) use the closed ones; the HTML KPI
used to say "Trades 32" above a table of 33.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from trading_strategy.backtesting.html_report import render_html
from trading_strategy.backtesting.report import build_report
from trading_strategy.backtesting.runner import run_backtest
from trading_strategy.cli.summary import format_summary
from trading_strategy.market_data.files import load_bars


@pytest.fixture(scope="module")
def goog() -> dict[str, Any]:
    return build_report(run_backtest("sma_crossover", load_bars("GOOG").bars))


def _page(report: dict[str, Any]) -> str:
    times = [p["time"] for p in report["equity_curve"]]
    return render_html(report, price_time=times, price_close=[1.0] * len(times))


def test_json_counts_closed_and_open_trades_that_add_up(goog: dict[str, Any]) -> None:
    listed = goog["trades"]
    open_ = [t for t in listed if t["exit_time"] is None]
    assert (len(listed), len(open_)) == (33, 1)
    assert goog["metrics"]["trades"] == len(listed) - len(open_) == 32
    assert goog["metrics"]["open_trades"] == 1
    keys = list(goog["metrics"])
    assert keys[keys.index("trades") + 1] == "open_trades"


def test_html_kpi_table_and_heading_say_the_same(goog: dict[str, Any]) -> None:
    page = _page(goog)
    kpi = re.search(r'<div class="kpi"><span>([^<]*)</span><b class="">([^<]*)</b>'
                    r"<small>([^<]*)</small></div>", page)
    assert kpi is not None
    assert kpi.groups() == ("Closed trades", "32", " + 1 open")
    assert "<h2>Trades (33: 32 closed, 1 open)</h2>" in page
    assert page.count("<tr class=\"open\">") == 1
    assert "<th>Closed trades</th><td" in page and "<th>Open trades</th><td" in page
    # the table's rows are the heading's count
    body = page[page.index("<h2>Trades (33"):]
    assert body.count("<tr class=") == 33


def test_html_without_an_open_trade() -> None:
    report = build_report(run_backtest("sma_crossover", load_bars("IBM").bars))
    page = _page(report)
    assert report["metrics"]["open_trades"] == 0
    assert f"<h2>Trades ({len(report['trades'])}, all closed)</h2>" in page
    assert "<small>" not in page


def test_cli_summary_labels_match(goog: dict[str, Any]) -> None:
    lines = format_summary(goog).splitlines()
    assert any(re.fullmatch(r"Closed trades\s+32", line) for line in lines)
    assert any(re.fullmatch(r"Open trades\s+1", line) for line in lines)
    assert not any(re.match(r"Trades\s", line) for line in lines)
