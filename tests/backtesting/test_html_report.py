"""The HTML report: one offline page, escaped, formatted, deterministic and small for big runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, ClassVar

import numpy as np
import pytest

from trading_strategy.backtesting.html_report import downsample_minmax, render_html

MALICIOUS = "<script>alert(1)</script>"
MAX_POINTS = 2_000  # per polyline, the renderer's budget


def _times(n: int) -> list[str]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


def _report(
    n: int = 30, *, strategy: str = "sma_crossover"
) -> tuple[dict[str, Any], list[str], list[float]]:
    times = _times(n)
    close = [100.0 + 5 * np.sin(i / 3) + i * 0.2 for i in range(n)]
    equity = [10_000.0 * (1 + 0.002 * i - (0.03 if 10 <= i < 15 else 0.0)) for i in range(n)]
    trades = [
        {
            "side": "long",
            "quantity": 10,
            "entry_time": times[2],
            "entry_price": close[2],
            "exit_time": times[8],
            "exit_price": close[8],
            "pnl": 42.5,
            "return": 0.0425,
            "commission": 1.25,
        },
        {
            "side": "short",
            "quantity": 5,
            "entry_time": times[12],
            "entry_price": close[12],
            "exit_time": times[18],
            "exit_price": close[18],
            "pnl": -13.0,
            "return": -0.026,
            "commission": 0.75,
        },
        # Still open at the end of the data: no exit yet.
        {
            "side": "long",
            "quantity": 3,
            "entry_time": times[25],
            "entry_price": close[25],
            "exit_time": None,
            "exit_price": None,
            "pnl": 0.0,
            "return": 0.0,
            "commission": 0.5,
        },
    ]
    report: dict[str, Any] = {
        "strategy": strategy,
        "params": {"fast": 10, "slow": 30, "note": "<b>bold</b>"},
        "data": {
            "symbol": "GOOG",
            "timeframe": "1d",
            "start": times[0],
            "end": times[-1],
            "bars": n,
        },
        "settings": {"periods_per_year": 252, "initial_cash": 10_000, "commission": 0.001},
        "metrics": {
            "total_return": 0.1234,
            "cagr": 0.5,
            "volatility": 0.2,
            "sharpe": 1.23456,
            "sortino": None,
            "calmar": 2.0,
            "max_drawdown": 0.0312,
            "max_drawdown_duration": 5,
            "win_rate": 0.5,
            "profit_factor": 3.27,
            "expectancy": 14.75,
            "average_win": 42.5,
            "average_loss": -13.0,
            "trades": 2,
            "exposure": 0.4,
            "turnover": 1.5,
            "commission": 2.5,
            "slippage": 0.4,
        },
        "trades": trades,
        "equity_curve": [{"time": t, "equity": e} for t, e in zip(times, equity, strict=True)],
        "risk": {
            "settings": {"max_drawdown": 0.2},
            "verdicts": {"approved": 10, "daily_loss_limit": 2},
            "halts": [
                {"time": times[14], "scope": "account", "state": "HALTED", "reason": "drawdown"}
            ],
        },
        "buy_and_hold": {"total_return": 0.0777, "sharpe": 0.9},
    }
    return report, times, close


class _Collector(HTMLParser):
    """Collects tags with their attributes and checks that every opened element closes."""

    VOID: ClassVar[set[str]] = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def _parse(page: str) -> _Collector:
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert parser.stack == [], f"unclosed elements: {parser.stack}"
    return parser


def _render(n: int = 30, **kwargs: Any) -> str:
    report, times, close = _report(n, **kwargs)
    return render_html(report, price_time=times, price_close=close)


def test_page_parses_and_has_all_sections() -> None:
    page = _render()
    tags = _parse(page).tags
    assert page.startswith("<!DOCTYPE html>")
    assert sum(1 for t, _ in tags if t == "svg") == 3  # equity, drawdown, price
    assert sum(1 for t, _ in tags if t == "polyline") >= 3
    for heading in ("Equity", "Drawdown (%)", "Price and trades", "Statistics", "Risk", "Trades"):
        assert f"<h2>{heading}" in page
    assert "sma_crossover · GOOG 1d · 2024-01-01" in page  # title: strategy, symbol, range
    assert "daily_loss_limit" in page and "HALTED" in page and "Buy &amp; hold" in page


def test_no_external_resources() -> None:
    page = _render()
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert "@import" not in page and "url(" not in page
    for _, attrs in _parse(page).tags:
        assert "src" not in attrs
        href = attrs.get("href")
        assert href is None or href.startswith("#")


def test_metrics_are_formatted() -> None:
    page = _render()
    for text in (
        "12.34%",
        "50.00%",
        "20.00%",
        "3.12%",
        "40.00%",
        "1.23",
        "3.27",
        "5 bars",
        "1.50×",
        "7.77%",
        "0.90",
    ):
        assert f">{text}<" in page, text
    # sortino is None: an em dash, never "None" or "nan".
    assert re.search(r"<th>Sortino</th><td[^>]*>—</td>", page)
    assert not re.search(r">(None|nan|NaN)<", page)


def test_one_marker_per_entry_and_exit() -> None:
    tags = _parse(_render()).tags
    classes = [(a.get("class") or "").split() for t, a in tags if t == "g"]
    markers = [c for c in classes if "marker" in c]
    assert sum("entry" in c for c in markers) == 3  # the open trade has an entry
    assert sum("exit" in c for c in markers) == 2  # ...but no exit
    assert ["marker", "entry", "long", "win"] in markers
    assert ["marker", "exit", "short", "loss"] in markers
    assert ["marker", "entry", "long", "open"] in markers


def test_open_trade_renders_in_table() -> None:
    page = _render()
    rows = re.findall(r'<tr class="open">(.*?)</tr>', page)
    assert len(rows) == 1 and ">open<" in rows[0] and ">—<" in rows[0]


def test_user_strings_are_escaped() -> None:
    report, times, close = _report(strategy=MALICIOUS)
    report["data"]["symbol"] = MALICIOUS
    report["params"][MALICIOUS] = MALICIOUS
    report["risk"]["halts"][0]["reason"] = MALICIOUS
    report["risk"]["verdicts"][MALICIOUS] = 1
    page = render_html(report, price_time=times, price_close=close)
    assert MALICIOUS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    # Only our own inline script: one <script> element.
    assert sum(1 for t, _ in _parse(page).tags if t == "script") == 1


def test_fill_between_bars_still_gets_a_marker() -> None:
    report, times, close = _report()
    report["trades"] = [dict(report["trades"][0], entry_time=times[2][:10] + "T12:00:00+00:00")]
    tags = _parse(render_html(report, price_time=times, price_close=close)).tags
    assert sum(1 for t, a in tags if t == "g" and "marker" in (a.get("class") or "")) == 2


def test_output_is_deterministic() -> None:
    assert _render() == _render()


def test_many_trades_are_truncated_with_a_note() -> None:
    report, times, close = _report(100)
    one = report["trades"][0]
    report["trades"] = [dict(one, pnl=float(i % 3 - 1)) for i in range(5_000)]
    page = render_html(report, price_time=times, price_close=close)
    assert "Showing the first 1,000 and last 1,000 of 5,000 trades." in page
    assert "3,000 trades not shown" in page
    assert page.count('<td class="num" data-v="') // 7 == 2_000  # 7 numeric cells per row
    assert ">5,000<" in page and ">1,001<" not in page


def test_downsampling_keeps_extremes_and_is_small() -> None:
    rng = np.random.default_rng(7)
    values = np.cumsum(rng.normal(size=1_000_000))
    values[123_457] = values.min() - 50.0  # a one-bar crash that a stride would miss
    values[876_543] = values.max() + 50.0
    idx = downsample_minmax(values)
    assert idx.size <= 4_000
    assert 123_457 in idx and 876_543 in idx
    assert idx[0] == 0 and idx[-1] == values.size - 1
    assert np.all(np.diff(idx) > 0)


def test_downsampling_leaves_short_series_alone() -> None:
    assert downsample_minmax(np.arange(10.0)).tolist() == list(range(10))
    assert downsample_minmax(np.array([])).size == 0


def test_huge_run_renders_a_small_page() -> None:
    n = 200_000
    times = _times(n)
    close = (100 + np.cumsum(np.random.default_rng(1).normal(size=n))).tolist()
    report, _, _ = _report(30)
    report["equity_curve"] = [
        {"time": t, "equity": 10_000 + c} for t, c in zip(times, close, strict=True)
    ]
    report["trades"] = []
    page = render_html(report, price_time=times, price_close=close)
    assert len(page) < 1_000_000
    polylines = re.findall(r'<polyline class="line \w+" points="([^"]*)"', page)
    assert polylines and all(len(p.split()) <= MAX_POINTS for p in polylines)


def test_mismatched_price_inputs_are_rejected() -> None:
    report, times, close = _report()
    with pytest.raises(ValueError, match="price_time"):
        render_html(report, price_time=times, price_close=close[:-1])


def test_empty_run_still_renders() -> None:
    report, _, _ = _report()
    report.update(trades=[], equity_curve=[], metrics={"total_return": None})
    report.pop("risk")
    page = render_html(report, price_time=[], price_close=[])
    _parse(page)
    assert "No trades." in page and "no data" in page
