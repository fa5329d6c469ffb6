"""The summary and the HTML report say what a drawdown halt cost, not only that it fired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trading_strategy.cli import main


def test_halt_line_gives_drawdown_at_halt_deepest_after_and_flat_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path / "data"))
    risk = tmp_path / "risk.toml"
    risk.write_text("[risk]\nmax_drawdown_pct = 15\n")
    html, report = tmp_path / "r.html", tmp_path / "r.json"
    code = main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--no-store",
                 "--risk-config", str(risk), "--html", str(html), "--json", str(report)])
    assert code == 0
    out = capsys.readouterr().out
    halted = [line for line in out.splitlines() if line.startswith("Trading halted")]
    assert len(halted) == 1
    assert "drawdown 15.2% at the halt" in halted[0]
    assert "flat 2006-01-23" in halted[0]
    page = html.read_text()
    assert "Drawdown at halt" in page
    assert "<td>15.18%</td>" in page
    # the default is stated, not left for the reader to know
    assert json.loads(report.read_text())["risk"]["settings"]["flatten_on_halt"] is True
