"""``backtest --config PORTFOLIO`` end to end on the bundled samples: the very file a paper
session runs, its summary, JSON, HTML and saved run, and one-line refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trading_strategy.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "portfolio.toml"


def test_the_example_portfolio_backtests_end_to_end(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json, out_html = tmp_path / "p.json", tmp_path / "p.html"
    assert main(["backtest", "--config", str(EXAMPLE), "--json", str(out_json),
                 "--html", str(out_html)]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("portfolio:demo: 2 strategies on GOOG+MSFT 1d")
    assert "lockstep (risk.max_drawdown_pct, risk.max_position_pct" in summary
    for name in ("sma_goog", "rsi_msft", "Total"):
        assert f"\n{name} " in summary
    run_id = int(summary.rsplit("saved as run ", 1)[1].split()[0])

    report = json.loads(out_json.read_text())
    assert report["kind"] == "portfolio"
    book = report["portfolio"]
    assert [s["name"] for s in book["strategies"]] == ["sma_goog", "rsi_msft"]
    # the file's capital, sizes and venue costs reached every strategy
    assert [s["capital"] for s in book["strategies"]] == [50000, 50000]
    assert [s["metrics"]["trades"] > 0 for s in book["strategies"]] == [True, True]
    assert all(s["commission"] == {"model": "percent", "rate": 0.001}
               and s["slippage"] == {"model": "fixed_bps", "bps": 2.0}
               for s in book["strategies"])
    assert report["risk"]["settings"]["max_drawdown_pct"] == 40
    assert book["pnl"] == pytest.approx(sum(s["pnl"] for s in book["strategies"]), abs=0.005)
    assert {t["strategy"] for t in report["trades"]} == {"sma_goog", "rsi_msft"}
    assert report["settings"]["venue"]["latency_ms"] == 0

    page = out_html.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "sma_goog" in page and "rsi_msft" in page and "Attribution" in page
    # the total and one curve per strategy (the interactive chart's lines, or the static
    # SVG's when lightweight-charts is not installed)
    if 'id="chart-data"' in page:
        assert page.count('{"name":"sma_goog","v":') == page.count('{"name":"rsi_msft","v":') == 1
    else:
        assert 'class="line strategy"' in page and 'class="line s0"' in page \
            and 'class="line s1"' in page
    # nothing is fetched: the addresses in the page (the inlined chart library's licence
    # and attribution link) are text and links, never a resource to load
    assert not re.search(r"""\b(?:src|srcset)\s*=\s*["']?(?:https?:)?//|<link\b|@import|"""
                         r"""url\(\s*["']?(?:https?:)?//""", page)

    assert main(["runs", "list"]) == 0
    listed = capsys.readouterr().out
    assert "portfolio:demo" in listed and "GOOG+MSFT 1d" in listed
    assert main(["runs", "show", str(run_id), "--json"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert stored["strategy"] == "portfolio:demo"
    assert stored["metrics"]["total_return"] == report["metrics"]["total_return"]
    assert [t["strategy"] for t in stored["trades"]] == [t["strategy"]
                                                        for t in report["trades"]]
    assert stored["portfolio"]["pnl"] == book["pnl"]


def _portfolio(tmp_path: Path, venue: str, risk: str = "") -> Path:
    path = tmp_path / "portfolio.toml"
    path.write_text(f"""
[session]
name = "t"
[venue]
{venue}
[[strategies]]
name = "sma_ibm"
strategy = "sma_crossover"
symbol = "IBM"
capital = 10000
[risk]
{risk}
""")
    return path


def test_a_venue_that_fills_under_its_own_settings_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _portfolio(tmp_path, 'kind = "paper-http"\nurl = "http://127.0.0.1:9"')
    assert main(["backtest", "--config", str(path), "--no-store"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "venue.kind 'paper-http' cannot be backtested" in err
    assert "Traceback" not in err


def test_a_bad_portfolio_file_gets_the_sessions_own_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _portfolio(tmp_path, "commission = 0.001", risk="max_drawdown_pct = \"20\"")
    assert main(["backtest", "--config", str(path), "--no-store"]) == 2
    err = capsys.readouterr().err
    assert "risk.max_drawdown_pct: must be a number" in err and "Traceback" not in err


@pytest.mark.parametrize(("extra", "flag"), [
    (["--cash", "5000"], "--cash"), (["--strategy", "sma_crossover"], "--strategy"),
    (["--slippage-bps", "3"], "--slippage-bps"), (["--risk-config", "x.toml"], "--risk-config"),
])
def test_options_the_file_sets_are_refused_with_config(
        extra: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--config", str(EXAMPLE), "--no-store", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {flag} does not apply with --config")


def test_neither_a_strategy_nor_a_portfolio_is_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--data", "IBM"]) == 2
    assert "backtest needs --strategy (one strategy), or --config" in capsys.readouterr().err


def test_the_portfolio_json_goes_to_stdout_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--config", str(EXAMPLE), "--no-store", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["portfolio"]["mode"] == "lockstep"
