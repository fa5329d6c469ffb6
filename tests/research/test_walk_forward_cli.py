from __future__ import annotations

import json
from pathlib import Path

import pytest

from trading_strategy.cli import main

BASE = ["--strategy", "sma_crossover", "--data", "GOOG", "--no-store"]


def test_walk_forward_command_with_bayes(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("optuna")
    out, db = tmp_path / "wf.json", tmp_path / "studies.sqlite3"
    code = main(["walk-forward", *BASE, "--param", "fast=5:40:5", "--param", "slow=30:120:10",
                 "--train", "3y", "--test", "1y", "--method", "bayes", "--trials", "5",
                 "--storage", f"sqlite:///{db}", "--json", str(out)])
    assert code == 0
    assert "rolling walk-forward, train 3y, test 1y" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert len(data["chosen_params"]) >= 2 and db.exists()
    assert all(5 <= p["fast"] <= 40 for p in data["chosen_params"])


def test_bad_trials_for_bayes_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["walk-forward", *BASE, "--param", "fast=5:40:5", "--method", "bayes",
                 "--trials", "0"]) == 2
    err = capsys.readouterr().err
    assert "trials" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
