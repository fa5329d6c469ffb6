"""Optuna search with its study in a database: SQLite by default, PostgreSQL when a server
runs; an interrupted search resumes."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path

import pytest

pytest.importorskip("optuna")

from trading_strategy import Backtest
from trading_strategy.core.errors import ConfigError
from trading_strategy.research import optimize

SPACE = ["fast=5:50:5", "slow=20:200:10"]


class Stop(Exception):
    pass


@pytest.fixture(scope="module")
def goog() -> Backtest:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest("GOOG", "sma_crossover", store=False)


def _interrupted_then_resumed(goog: Backtest, url: str) -> None:
    calls = []

    def interrupt(done: int, total: int, elapsed: float, left: float | None) -> None:
        calls.append(done)
        if done >= 4:
            raise Stop

    with pytest.raises(Stop):
        optimize(goog, SPACE, method="bayes", trials=10, storage=url, progress=interrupt)
    resumed = optimize(goog, SPACE, method="bayes", trials=10, storage=url)
    assert len(resumed.trials) == 10
    numbers = sorted(t.index for t in resumed.trials)
    assert numbers[:4] == [0, 1, 2, 3]  # the first four were kept, not rerun
    again = optimize(goog, SPACE, method="bayes", trials=10, storage=url)
    assert [t.params for t in again.trials] == [t.params for t in resumed.trials]
    assert resumed.best is not None and resumed.diagnostics["dsr"] is not None
    # invalid pairs (fast >= slow) are pruned trials: rows, never a crash
    assert resumed.counts["trials"] == resumed.counts["ok"] + resumed.counts["invalid"]


def test_sqlite_study_resumes_after_an_interruption(goog: Backtest, tmp_path: Path) -> None:
    _interrupted_then_resumed(goog, f"sqlite:///{tmp_path / 'studies.sqlite3'}")


def test_postgresql_study_resumes(goog: Backtest) -> None:
    psycopg = pytest.importorskip("psycopg")
    name = f"ts_optuna_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                                autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            _interrupted_then_resumed(
                goog, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
        finally:  # FORCE: optuna's engine may still hold a pooled connection
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_unreachable_storage_is_one_line(goog: Backtest) -> None:
    with pytest.raises(ConfigError, match="cannot open the Optuna study"):
        optimize(goog, SPACE, method="bayes", trials=2,
                 storage="postgresql+psycopg://nobody@127.0.0.1:1/none")
