"""The database of a one-shot backtest in a forked child (``cli.store_process``): the run
it saves is the run ``main`` saves in-process, an error opening the database stops the
command before the run with the message ``main`` prints, and the child never outlives
the command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trading_strategy.cli import main
from trading_strategy.cli.store_process import StoreProcess
from trading_strategy.core.errors import ConfigError, DataError
from trading_strategy.storage import open_store

ROOT = Path(__file__).resolve().parents[2]
GOOG = ROOT / "src" / "trading_strategy" / "data" / "samples" / "GOOG_1d.csv"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "TRADING_STRATEGY_DATA_DIR": str(tmp_path / "data"), **extra}
    env.pop("TRADING_STRATEGY_CONFIG_FILE", None)
    if "TRADING_STRATEGY_DATABASE_URL" not in extra:
        env.pop("TRADING_STRATEGY_DATABASE_URL", None)
    return env


def _program(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trading_strategy", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def _csv(tmp_path: Path) -> Path:
    """GOOG's daily bars as a file of the user's (a file, so the store goes to a child)."""
    if not GOOG.is_file():
        pytest.skip("the bundled GOOG sample is not where this test expects it")
    path = tmp_path / "goog.csv"
    path.write_bytes(GOOG.read_bytes())
    return path


def _stored(url: str, run_id: int) -> tuple[Any, ...]:
    store = open_store(url)
    try:
        run = store.runs.get_run(run_id)
        assert run is not None
        return (run.params, run.settings, run.metrics, run.risk,
                [t.__dict__ if hasattr(t, "__dict__") else t for t in run.trades],
                run.curves.ts.tolist(), run.curves.equity.tolist(),
                None if run.curves.position_lots is None else run.curves.position_lots.tolist())
    finally:
        store.close()


def test_the_child_saves_the_run_main_saves(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    data = _csv(tmp_path)
    args = ["backtest", "--strategy", "sma_crossover", "--data", str(data), "--quiet"]
    proc = _program(args, _env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    # the same backtest through ``main`` in this process (the store opened in a thread)
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRADING_STRATEGY_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRADING_STRATEGY_CONFIG_FILE", raising=False)
    assert main(args) == 0
    database = tmp_path / "data" / "trading-strategy.sqlite3"  # the embedded default
    assert database.is_file()
    url = f"sqlite:///{database}"
    child, here = _stored(url, 1), _stored(url, 2)
    assert child == here
    assert len(child[5]) > 1000 and child[7] is not None and np.any(child[7])


def test_a_database_that_cannot_open_stops_the_command_before_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = _csv(tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    url = f"sqlite:///{blocker / 'db.sqlite'}"
    args = ["backtest", "--strategy", "sma_crossover", "--data", str(data), "--quiet",
            "--json", str(tmp_path / "report.json")]
    proc = _program(args, _env(tmp_path, TRADING_STRATEGY_DATABASE_URL=url))
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", url)
    code = main(args)
    here = capsys.readouterr().err
    assert proc.returncode == code != 0
    assert proc.stderr == here
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert not (tmp_path / "report.json").exists()  # stopped before the run


class _Book:
    """A stand-in store for the child's mechanics: what it saved, and whether it closed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def close(self) -> None:
        (self.folder / "closed").write_text("yes")


def _save(book: _Book, text: str, values: np.ndarray) -> int:
    if text == "refuse":
        raise DataError("the store refused the run")
    if text == "crash":
        os._exit(9)
    (book.folder / "saved").write_text(f"{text}:{values.sum()}")
    return 41


@contextmanager
def _child(open_store: Callable[[], _Book]) -> Iterator[StoreProcess]:
    saver = StoreProcess(open_store, _save)
    try:
        yield saver
    finally:
        saver.close()


def test_a_save_comes_back_as_the_run_id_and_the_store_is_closed(tmp_path: Path) -> None:
    with _child(lambda: _Book(tmp_path)) as saver:
        saver.wait_ready()
        assert saver.save("run", np.arange(5)) == 41
    assert (tmp_path / "saved").read_text() == "run:10"
    assert (tmp_path / "closed").read_text() == "yes"


def test_errors_of_the_child_are_raised_here(tmp_path: Path) -> None:
    with _child(lambda: _Book(tmp_path)) as saver, \
            pytest.raises(DataError, match="the store refused the run"):
        saver.save("refuse", np.arange(1))
    assert (tmp_path / "closed").read_text() == "yes"

    def cannot_open() -> _Book:
        raise ConfigError("no such database")

    with _child(cannot_open) as failing, pytest.raises(ConfigError, match="no such database"):
        failing.wait_ready()


def test_a_child_that_dies_is_an_error_not_a_hang(tmp_path: Path) -> None:
    with _child(lambda: _Book(tmp_path)) as saver, \
            pytest.raises(Exception, match="ended unexpectedly"):
        saver.save("crash", np.arange(1))


def test_closing_without_a_save_lets_the_child_go(tmp_path: Path) -> None:
    saver = StoreProcess(lambda: _Book(tmp_path), _save)
    saver.close()  # e.g. the strategy raised: nothing to save
    saver.close()  # and again: nothing left to wait for
    assert (tmp_path / "closed").read_text() == "yes"
    assert not (tmp_path / "saved").exists()
