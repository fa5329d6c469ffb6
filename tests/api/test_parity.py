"""The API and the CLI are two faces of one backtest: the same run gives the same report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trading_strategy.api import Backtest
from trading_strategy.cli import main

CLI_ARGS = ("backtest", "--strategy", "sma_crossover", "--data", "GOOG",
            "--param", "fast=10", "--param", "slow=30", "--commission", "0.001",
            "--slippage-bps", "2", "--size", "all-in", "--json", "-")


def _cli_json(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main([*CLI_ARGS, *extra]) == 0
    return capsys.readouterr().out


def _api() -> Backtest:
    return Backtest("GOOG", "sma_crossover", commission=0.001, slippage=2, size="all-in")


@pytest.mark.parametrize("extra", [(), ("--no-store",)], ids=["stored", "no-store"])
def test_goog_sma_crossover_report_is_byte_identical(
        capsys: pytest.CaptureFixture[str], extra: tuple[str, ...]) -> None:
    expected = _cli_json(capsys, *extra)
    result = _api().run(fast=10, slow=30)
    assert result.to_json() == expected
    report = json.loads(expected)
    assert result.report["metrics"] == report["metrics"]
    assert result.report["trades"] == report["trades"]
    assert len(report["trades"]) > 10  # a run that trades, or the comparison proves little


def test_other_parameters_change_the_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    # guards the test above: the API really passes its parameters through
    expected = json.loads(_cli_json(capsys, "--no-store"))
    other = _api().run(fast=5, slow=30).report
    assert other["metrics"] != expected["metrics"]
    assert other["params"] == {"fast": 5, "slow": 30, "allow_short": False}


def test_stats_and_trades_frames_hold_the_report_numbers(
        capsys: pytest.CaptureFixture[str]) -> None:
    pd = pytest.importorskip("pandas")
    report = json.loads(_cli_json(capsys, "--no-store"))
    result = _api().run(fast=10, slow=30)
    assert result.stats.to_dict() == report["metrics"]
    trades = result.trades
    assert list(trades["pnl"]) == [t["pnl"] for t in report["trades"]]
    assert list(trades["entry_price"]) == [t["entry_price"] for t in report["trades"]]
    first = pd.Timestamp(report["trades"][0]["entry_time"], tz="UTC")
    assert trades["entry_time"].iloc[0] == first


def test_html_report_is_the_clis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli_page = tmp_path / "cli.html"
    assert main([*CLI_ARGS[:-2], "--quiet", "--no-store", "--html", str(cli_page)]) == 0
    api_page = _api().run(fast=10, slow=30).to_html(tmp_path / "api.html")
    assert api_page.read_text() == cli_page.read_text()
