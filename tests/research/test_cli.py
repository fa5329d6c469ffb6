from __future__ import annotations

import json
from pathlib import Path

import pytest

from trading_strategy.cli import main

BASE = ["--strategy", "sma_crossover", "--data", "GOOG", "--no-store"]


def test_optimize_writes_json_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, page = tmp_path / "o.json", tmp_path / "o.html"
    code = main(["optimize", *BASE, "--param", "fast=10:30:10", "--param", "slow=20:40:10",
                 "--maximize", "sharpe", "--constraint", "trades>=5", "--workers", "0",
                 "--json", str(out), "--html", str(page)])
    assert code == 0
    text = capsys.readouterr().out
    assert "3 refused by the strategy's validation" in text  # (20,20), (30,20), (30,30)
    assert "overall:" in text
    data = json.loads(out.read_text())
    assert data["counts"]["invalid"] == 3 and data["best"]["params"]["fast"] in (10, 20)
    assert set(data["diagnostics"]) == {"deflated_sharpe", "pbo", "bootstrap", "stability"}
    assert "Heatmap" in page.read_text()


@pytest.mark.parametrize("args, message", [
    (["--param", "fast=5:1"], "START <= STOP"),
    (["--param", "fast=5:10", "--constraint", "drawdown<0.2"], "unknown metric"),
    (["--param", "fast=5:10", "--method", "random", "--trials", "0"], "trials"),
    ([], "at least one --param"),
])
def test_bad_input_is_one_line(args: list[str], message: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", *BASE, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_walk_forward_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "wf.json"
    code = main(["walk-forward", *BASE, "--param", "fast=5,10", "--param", "slow=30,60",
                 "--train", "3y", "--test", "1y", "--anchored", "--workers", "0",
                 "--json", str(out)])
    assert code == 0
    assert "anchored walk-forward, train 3y, test 1y" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert len(data["windows"]) == len(data["chosen_params"]) >= 5
    assert data["windows"][1]["train_start"] == data["windows"][0]["train_start"]
