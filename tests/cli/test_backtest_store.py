"""The backtest command with the embedded database: stored bars in, saved runs out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trading_strategy.cli import main


def test_backtest_saves_the_run_and_runs_show_reads_it_back(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--strategy", "sma_crossover", "--data", "IBM"]) == 0
    out = capsys.readouterr().out
    run_id = int(out.rsplit("saved as run ", 1)[1].split()[0])
    assert main(["runs", "show", str(run_id), "--json"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert stored["strategy"] == "sma_crossover"
    assert stored["data"]["symbol"] == "IBM"


def test_stored_bars_are_the_data_source_for_a_symbol(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # import a three-year synthetic series under a new symbol, then backtest it by name
    days = np.arange(np.datetime64("2018-01-01"), np.datetime64("2021-01-01"))
    close = 100 + np.cumsum(np.sin(np.arange(len(days)) / 9.0))
    lines = ["timestamp,open,high,low,close,volume"]
    for d, c in zip(days.astype(str), close, strict=True):
        lines.append(f"{d},{c:.2f},{c + 1:.2f},{c - 1:.2f},{c:.2f},100")
    csv = tmp_path / "wave.csv"
    csv.write_text("\n".join(lines) + "\n")
    assert main(["data", "import", str(csv), "--symbol", "WAVE", "--timeframe", "1d"]) == 0
    capsys.readouterr()
    assert main(["backtest", "--strategy", "sma_crossover", "--data", "WAVE",
                 "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["data"]["symbol"] == "WAVE"
    assert report["data"]["bars"] == len(days)
    assert report["metrics"]["trades"] > 0


def test_no_store_leaves_the_database_alone(
        _isolated_data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--strategy", "rsi_reversion", "--data", "AAPL", "--no-store",
                 "--quiet"]) == 0
    assert not (_isolated_data_dir / "trading-strategy.sqlite3").exists()
