"""optimize and walk-forward save their result as a research run (unless --no-store)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trading_strategy.cli import main
from trading_strategy.config import load_settings
from trading_strategy.storage import Store
from trading_strategy.storage.research_runs import ResearchRunRepository

BASE = ["--strategy", "sma_crossover", "--data", "GOOG", "--workers", "0"]


Stored = Callable[[], ResearchRunRepository]


@pytest.fixture
def stored() -> Iterator[Stored]:
    """The research runs of the test's database, opened on first call (after the command
    ran, so the command creates the database as a user's first run would)."""
    opened: list[Store] = []

    def repository() -> ResearchRunRepository:
        if not opened:
            opened.append(load_settings(None).open_store())
        return ResearchRunRepository(opened[0].engine)

    yield repository
    for store in opened:
        store.close()


def test_optimize_saves_a_research_run(capsys: pytest.CaptureFixture[str],
        stored: Stored) -> None:
    assert main(["optimize", *BASE, "--param", "fast=5,10", "--param", "slow=20,30",
                 "--maximize", "sharpe"]) == 0
    out = capsys.readouterr().out
    assert "saved as research run 1" in out
    runs, total = stored().list_runs()
    assert total == 1
    run = runs[0]
    assert (run.kind, run.strategy, run.symbol, run.timeframe) == (
        "optimize", "sma_crossover", "GOOG", "1d")
    assert run.trials == 4 and run.objective == "maximize sharpe"
    assert run.verdict is not None and run.verdict.startswith("overall:")
    detail = stored().get_run(run.id)
    assert detail is not None
    report = detail.report
    assert report["best"]["params"] == run.best_params
    assert report["heatmap"]["x"] == "fast" and report["heatmap"]["y"] == "slow"
    assert report["heatmap"]["columns"] == [5, 10] and report["heatmap"]["rows"] == [20, 30]
    assert len(report["trials"]) == 4 and report["verdicts"][-1] == run.verdict


def test_walk_forward_saves_with_equity_times(capsys: pytest.CaptureFixture[str],
        stored: Stored) -> None:
    assert main(["walk-forward", *BASE, "--param", "fast=5,10", "--param", "slow=30",
                 "--train", "3y", "--test", "2y", "--quiet"]) == 0
    runs, _ = stored().list_runs(kind="walk_forward")
    assert len(runs) == 1
    detail = stored().get_run(runs[0].id)
    assert detail is not None
    report = detail.report
    times = report["equity_times"]
    assert times is not None and len(times) == len(report["equity"])
    assert times == sorted(set(times))
    assert runs[0].best_params == report["chosen_params"][-1]
    assert runs[0].trials == 2 * len(report["windows"])


def test_no_store_saves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           stored: Stored) -> None:
    assert main(["optimize", *BASE, "--no-store", "--param", "fast=5,10",
                 "--param", "slow=20"]) == 0
    assert "saved as research run" not in capsys.readouterr().out
    assert stored().list_runs() == ([], 0)


def test_a_database_without_the_table_is_a_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from trading_strategy.storage import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    try:
        upgrade(engine, "0006_bar_source")  # before research_runs
    finally:
        engine.dispose()
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", url)
    assert main(["optimize", *BASE, "--param", "fast=5,10", "--param", "slow=20"]) == 2
    err = capsys.readouterr().err
    assert "db upgrade" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
