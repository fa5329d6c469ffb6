"""``backtest --sensitivity`` and ``Backtest.sensitivity``: the summary block, the JSON
report's ``sensitivity`` key and the HTML section (skipped until the API and the CLI call
research.sensitivity)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from trading_strategy import Backtest
from trading_strategy.cli import main


def test_backtest_sensitivity_in_summary_json_and_html(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    code = main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--no-store",
                 "--param", "fast=2", "--param", "slow=3", "--commission", "0.003",
                 "--sensitivity", "--json", str(out), "--html", str(page)])
    assert code == 0
    text = capsys.readouterr().out
    assert "Fill sensitivity:" in text
    assert "WARNING: the edge exists only under optimistic fills" in text
    report = json.loads(out.read_text())
    sens = report["sensitivity"]
    assert sens["verdict"]["code"] == "optimistic_only"
    # the neutral scenario is the run the report shows
    assert sens["scenarios"]["neutral"]["metrics"]["total_return"] == \
        report["metrics"]["total_return"]
    html = page.read_text()
    assert "<h2>Fill sensitivity</h2>" in html and "Warning: " in html


def test_without_the_flag_the_report_has_no_sensitivity(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--no-store",
                 "--quiet", "--json", str(out)]) == 0
    assert "sensitivity" not in json.loads(out.read_text())


def test_a_portfolio_file_refuses_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--config", "no-such-file.toml", "--sensitivity"]) == 2
    err = capsys.readouterr().err
    assert "--sensitivity applies to one strategy" in err and "Traceback" not in err


def test_api_sensitivity() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backtest = Backtest("GOOG", "sma_crossover", store=False, commission=0.0015)
    result = backtest.sensitivity(fast=2, slow=3)  # type: ignore[attr-defined, unused-ignore]
    assert result.code == "fragile" and result.warning
    neutral = backtest.run(fast=2, slow=3).stats
    assert result.scenarios["neutral"].metrics["sharpe"] == neutral["sharpe"]
