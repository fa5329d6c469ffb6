"""A strategy that raises: the CLI prints one line naming the strategy's file and line and
the exception (exit 1); ``--debug`` prints the full traceback above it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from trading_strategy.cli import main

STRATEGY = textwrap.dedent("""\
    from trading_strategy import Strategy


    class Bad(Strategy):
        name = "bad_cli"

        def on_bar(self) -> None:
            if self.ctx.bar_index == 5:
                self.ctx.buy(self.ctx.equity * 0.02 / 0)
    """)


@pytest.fixture
def strategy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "bad_strategy.py").write_text(STRATEGY)
    monkeypatch.chdir(tmp_path)
    return "bad_strategy.py:Bad"


def test_a_strategy_error_is_one_line_naming_the_file_and_line(
        strategy_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["backtest", "--strategy", strategy_file, "--data", "GOOG", "--no-store",
               "--quiet"])
    assert rc == 1
    err = capsys.readouterr().err
    assert err == ("error: bad_strategy.py:9: strategy 'bad_cli' raised in on_bar at bar 5: "
                   "ZeroDivisionError('float division by zero')\n")


def test_debug_prints_the_traceback_then_the_same_line(
        strategy_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["--debug", "backtest", "--strategy", strategy_file, "--data", "GOOG",
               "--no-store", "--quiet"])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert 'bad_strategy.py", line 9, in on_bar' in err
    assert "ZeroDivisionError: float division by zero" in err
    assert err.endswith("error: bad_strategy.py:9: strategy 'bad_cli' raised in on_bar at bar 5: "
                        "ZeroDivisionError('float division by zero')\n")


def test_debug_also_shows_the_traceback_of_a_user_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--debug", "backtest", "--strategy", "no_such_strategy_x", "--data",
                 "GOOG", "--no-store", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert err.splitlines()[-1].startswith("error: unknown strategy 'no_such_strategy_x'")
    assert main(["backtest", "--strategy", "no_such_strategy_x", "--data", "GOOG",
                 "--no-store", "--quiet"]) == 2
    assert "Traceback" not in capsys.readouterr().err
