"""A backtest run through ``main`` in a process that goes on (tests, a notebook) closes the
database it opened: no connection is left behind per command."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from trading_strategy.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _storage_fixtures() -> object:
    spec = importlib.util.spec_from_file_location(
        "_storage_conftest_cli", ROOT / "tests" / "storage" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_storage = _storage_fixtures()
pg_port = _storage.pg_port  # type: ignore[attr-defined]
pg_database = _storage.pg_database  # type: ignore[attr-defined]


def _connections(url: str) -> int:
    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                         dbname="postgres", autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                           (parsed.database,)).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("args", [
    ["backtest", "--strategy", "sma_crossover", "--data", "GOOG", "--quiet"],
    ["backtest", "--config", str(ROOT / "examples" / "portfolio.toml"), "--quiet"],
], ids=["single", "portfolio"])
def test_each_command_closes_its_database(pg_database: str, args: list[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", pg_database)
    before = _connections(pg_database)
    for _ in range(3):
        assert main(args) == 0
    assert _connections(pg_database) == before
