"""The allocator tuning of the backtest command: applied on glibc, harmless twice, and a
backtest after it gives the same report."""

from __future__ import annotations

import json
import platform

import pytest

from trading_strategy.cli import main
from trading_strategy.cli.allocator import tune_for_arrays


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_tuning_applies_on_glibc_and_again() -> None:
    assert tune_for_arrays() is True
    assert tune_for_arrays() is True


def test_a_backtest_after_the_tuning_reports_the_same(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    args = ["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--no-store",
            "--json", "-"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    tune_for_arrays()
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == first
