"""The ``trading-strategy`` program ends a one-shot command without the interpreter's
teardown (``cli.process_end``), and loses nothing on the way: buffered output reaches a
pipe, exit hooks run, the status is the command's, and a running thread is waited for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    # stdout to a pipe is then block-buffered: only a flush before the exit delivers it
    env.pop("PYTHONUNBUFFERED", None)
    return env


_HOOK = "import atexit, sys; atexit.register(lambda: sys.stderr.write('exit hook ran\\n')); "


def _program(args: list[str], tmp_path: Path, *,
             prefix: str = "") -> subprocess.CompletedProcess[str]:
    code = (prefix + "import sys; from trading_strategy.cli import console; "
            f"sys.argv = ['trading-strategy', *{args!r}]; console()")
    env = _env(TRADING_STRATEGY_DATA_DIR=str(tmp_path / "data"))
    env.pop("TRADING_STRATEGY_DATABASE_URL", None)
    env.pop("TRADING_STRATEGY_CONFIG_FILE", None)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_backtest_output_and_exit_hooks_survive_the_quick_exit(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    proc = _program(["backtest", "--strategy", "sma_crossover", "--data", "GOOG",
                     "--json", str(report)], tmp_path, prefix=_HOOK)
    assert proc.returncode == 0, proc.stderr
    assert "sma_crossover(fast=10, slow=30" in proc.stdout
    assert "saved as run 1" in proc.stdout  # the last line printed, flushed at the exit
    assert "exit hook ran" in proc.stderr
    assert json.loads(report.read_text())["strategy"] == "sma_crossover"


def test_the_command_status_is_the_exit_status(tmp_path: Path) -> None:
    proc = _program(["backtest", "--strategy", "nope", "--data", "GOOG"], tmp_path,
                    prefix=_HOOK)
    assert proc.returncode == 2
    assert "unknown strategy 'nope'" in proc.stderr
    assert "exit hook ran" in proc.stderr


def test_a_running_thread_is_waited_for(tmp_path: Path) -> None:
    marker = tmp_path / "thread-done"
    code = ("import sys, threading, time; from pathlib import Path; "
            "from trading_strategy.cli.process_end import end_process; "
            f"t = threading.Thread(target=lambda: (time.sleep(0.3), Path({str(marker)!r})"
            ".write_text('done'))); t.start(); print('before exit'); end_process(3)")
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 3
    assert proc.stdout == "before exit\n"
    assert marker.read_text() == "done"


def test_without_threads_the_process_ends_at_once_with_its_output(tmp_path: Path) -> None:
    code = ("import sys; from trading_strategy.cli.process_end import end_process; "
            "sys.stdout.write('x' * 100); end_process(5)")
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 5
    assert proc.stdout == "x" * 100


def test_a_report_written_to_stdout_arrives_whole(tmp_path: Path) -> None:
    proc = _program(["backtest", "--strategy", "sma_crossover", "--data", "GOOG",
                     "--json", "-"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert len(report["equity_curve"]) == report["data"]["bars"] > 2000
