"""Cost models need their values: none silently means zero (issue 8, item 8).

``--slippage-model atr`` without ``--slippage-value`` used to run with zero slippage; its
siblings (range, bps, per-unit and fixed commission, values that a model would ignore)
are refused the same way, each with one line naming the missing option.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trading_strategy.cli import main


def _run(*argv: str) -> int:
    return main(["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--no-store",
                 "--quiet", *argv])


@pytest.mark.parametrize(("argv", "expected"), [
    (["--slippage-model", "atr"], "--slippage-model atr needs --slippage-value 0.1"),
    (["--slippage-model", "range"], "--slippage-model range needs --slippage-value 0.1"),
    (["--slippage-model", "bps"], "--slippage-model bps needs --slippage-value 2"),
    (["--slippage-value", "0.1"], "--slippage-value needs --slippage-model"),
    (["--slippage-model", "atr", "--slippage-bps", "2"],
     "--slippage-bps conflicts with --slippage-model atr"),
    (["--slippage-model", "bps", "--slippage-bps", "2", "--slippage-value", "3"],
     "not both"),
    (["--commission-model", "per-unit"], "--commission-model per-unit needs --commission"),
    (["--commission-model", "fixed"], "--commission-model fixed needs --commission"),
    (["--commission-min", "1"], "--commission-min applies to --commission-model per-unit"),
    (["--commission-model", "fixed", "--commission", "1", "--commission-min", "1"],
     "--commission-min applies to --commission-model per-unit only, not fixed"),
    (["--slippage-model", "atr", "--slippage-value", "x"], "--slippage-value must be a number"),
])
def test_missing_or_ignored_cost_values_are_one_line_errors(
        capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    assert _run(*argv) == 2
    err = capsys.readouterr().err
    assert expected in err and err.startswith("error: ") and err.count("\n") == 1


def _report(tmp_path: Path, *argv: str) -> dict[str, object]:
    out = tmp_path / "r.json"
    assert _run(*argv, "--json", str(out)) == 0
    report: dict[str, object] = json.loads(out.read_text())
    return report


def _cost(report: dict[str, object], key: str) -> float:
    metrics = report["metrics"]
    assert isinstance(metrics, dict)
    return float(metrics[key])


def test_given_values_are_charged(tmp_path: Path) -> None:
    atr = _report(tmp_path, "--slippage-model", "atr", "--slippage-value", "0.1")
    assert _cost(atr, "slippage") > 0
    settings = atr["settings"]
    assert isinstance(settings, dict)
    assert settings["slippage"] == {"model": "atr", "multiple": 0.1, "period": 14}
    # bps given either way is the same model and the same run
    a = _report(tmp_path, "--slippage-bps", "2")
    b = _report(tmp_path, "--slippage-model", "bps", "--slippage-value", "2")
    assert a["settings"] == b["settings"] and a["metrics"] == b["metrics"]
    per_unit = _report(tmp_path, "--commission-model", "per-unit", "--commission", "0.01",
                       "--commission-min", "1")
    assert _cost(per_unit, "commission") > 0


def test_no_cost_options_mean_no_costs(tmp_path: Path) -> None:
    plain = _report(tmp_path)
    assert _cost(plain, "commission") == 0 and _cost(plain, "slippage") == 0
    settings = plain["settings"]
    assert isinstance(settings, dict)
    assert settings["slippage"] == {"model": "none"}
