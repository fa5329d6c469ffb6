"""The backtest command end to end: summary, JSON, HTML, and one-line errors for bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from trading_strategy.cli import main

GOOD_CSV = """timestamp,open,high,low,close,volume
2020-01-01,10,11,9,10.5,100
2020-01-02,10.5,11.5,10,11,100
2020-01-03,11,12,10.5,11.5,100
"""


def run_cli(*argv: str) -> int:
    return main(list(argv))


def test_goog_backtest_writes_summary_json_and_html(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out_json = tmp_path / "r.json"
    out_html = tmp_path / "r.html"
    rc = run_cli("backtest", "--strategy", "sma_crossover", "--data", "GOOG",
                 "--commission", "0.001", "--slippage-bps", "2",
                 "--json", str(out_json), "--html", str(out_html))
    assert rc == 0
    summary = capsys.readouterr().out
    assert "sma_crossover(fast=10, slow=30, allow_short=False) on GOOG 1d" in summary
    assert "Sharpe" in summary and "Max drawdown" in summary
    report = json.loads(out_json.read_text())
    assert {"strategy", "params", "data", "settings", "metrics", "trades",
            "equity_curve"} <= set(report)
    assert report["data"] == {"symbol": "GOOG", "timeframe": "1d", "start": "2004-08-19",
                              "end": "2013-03-01", "bars": 2148}
    assert report["settings"]["periods_per_year"] == 252
    assert report["settings"]["commission"] == {"model": "percent", "rate": 0.001}
    assert len(report["equity_curve"]) == 2148
    assert report["equity_curve"][0] == {"time": "2004-08-19", "equity": 10000}
    first = report["trades"][0]
    assert set(first) == {"side", "quantity", "entry_time", "entry_price", "exit_time",
                          "exit_price", "pnl", "return", "commission"}
    # the final equity is the initial cash plus every trade's P&L (all exact decimals)
    total_pnl = sum(t["pnl"] for t in report["trades"])
    assert report["metrics"]["final_equity"] == pytest.approx(10000 + total_pnl, abs=1e-6)
    page = out_html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "GOOG" in page
    # nothing is fetched: the addresses in the page (the inlined chart library's licence
    # and attribution link) are text and links, never a resource to load
    assert not re.search(r"""\b(?:src|srcset)\s*=\s*["']?(?:https?:)?//|<link\b|@import|"""
                         r"""url\(\s*["']?(?:https?:)?//""", page)


def test_json_to_stdout_is_pure_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = run_cli("backtest", "--strategy", "rsi_reversion", "--data", "MSFT", "--json", "-")
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["strategy"] == "rsi_reversion"
    assert report["params"] == {"period": 14, "oversold": 30.0, "overbought": 70.0}


def test_same_inputs_give_byte_identical_json(tmp_path: Path) -> None:
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for path in paths:
        assert run_cli("backtest", "--strategy", "donchian_breakout", "--data", "AAPL",
                       "--commission", "0.0005", "--slippage-model", "atr",
                       "--slippage-value", "0.1", "--quiet", "--json", str(path)) == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_strategies_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("strategies", "--json") == 0
    listing = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert {"sma_crossover", "rsi_reversion", "donchian_breakout"} <= set(listing)
    names = [p["name"] for p in listing["donchian_breakout"]["params"]]
    assert names == ["channel", "atr_period", "atr_stop"]


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("timestamp,open,high,low,close,volume\n2020-01-01,10,11,9,abc,100\n", "bad.csv:2"),
        ("timestamp,open,high,low,close,volume\n2020-01-01,10,11,9,nan,100\n", "bad.csv:2"),
        (GOOD_CSV + "2020-01-02,11,12,10,11,100\n", "bad.csv:5"),
        ("timestamp,open,high,low,close,volume\n2020-01-02,10,11,9,10,1\n"
         "2020-01-01,10,11,9,10,1\n", "bad.csv:3"),
        ("timestamp,open,high,low,close,volume\n2020-01-01,10,9,9.5,10,1\n", "bad.csv:2"),
        ("time,price\n2020-01-01,10\n", "missing"),
        ("", "empty"),
    ],
    ids=["unparsable", "nan", "duplicate", "out-of-order", "high-below-open", "header", "empty"],
)
def test_bad_csv_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   content: str, expected: str) -> None:
    rc = run_cli("backtest", "--strategy", "sma_crossover", "--data", _csv(tmp_path, content),
                 "--allow-short-history")
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert expected in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["--param", "fsat=3"], "unknown parameter 'fsat'"),
        (["--param", "fast=abc"], "fast='abc'"),
        (["--param", "fast=40"], "fast (40) must be less than slow (30)"),
        (["--param", "novalue"], "--param expects K=V"),
        (["--size", "-3"], "invalid --size"),
        (["--commission", "x"], "--commission must be a number"),
        (["--commission", "1.5"], "commission rate is a fraction"),
        (["--start", "2012-01-01"], "at least 2 years"),
        (["--start", "yesterday"], "--start must be a date"),
        (["--latency-bars", "0"], "latency must be at least 1 bar"),
        (["--periods-per-year", "nan"], "periods per year must be a number"),
        (["--risk-free-rate", "nan"], "risk-free rate must be a number"),
        (["--cash", "1e20"], "too large"),
    ],
)
def test_bad_options_are_one_line_errors(capsys: pytest.CaptureFixture[str], argv: list[str],
                                         expected: str) -> None:
    base = {"--strategy": "sma_crossover", "--data": "GOOG"}
    args = ["backtest"]
    for key, value in base.items():
        if key not in argv:
            args += [key, value]
    rc = run_cli(*args, *argv, "--quiet")
    err = capsys.readouterr().err
    assert rc == 2
    assert expected in err and err.count("\n") == 1


def test_short_history_allowed_with_flag(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD_CSV)
    assert run_cli("backtest", "--strategy", "sma_crossover", "--data", path,
                   "--param", "fast=1", "--param", "slow=2", "--allow-short-history",
                   "--quiet") == 0


def test_repair_sorts_and_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD_CSV + "2020-01-02,10.5,11.5,10,11,100\n"
    rc = run_cli("backtest", "--strategy", "sma_crossover", "--data", _csv(tmp_path, text),
                 "--param", "fast=1", "--param", "slow=2", "--allow-short-history", "--repair",
                 "--quiet")
    assert rc == 0
    assert "warning:" in capsys.readouterr().err


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    bad = _csv(tmp_path, "timestamp,open,high,low,close,volume\n2020-01-01,1,2,0.5,x,1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "trading_strategy.cli", "backtest", "--strategy",
         "sma_crossover", "--data", bad],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")
