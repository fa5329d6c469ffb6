"""Migrations on both engines: from empty, one step down, up again; schema = models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from trading_strategy.core.errors import ConfigError
from trading_strategy.storage import (
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    make_engine,
    open_store,
    upgrade,
)
from trading_strategy.storage.migrate import SCHEMA_HEAD
from trading_strategy.storage.tables import Base

_ALL = {"instruments", "bars", "backtest_runs", "backtest_trades", "research_runs",
        "orders", "order_events", "fills", "positions", "strategy_events", "risk_events"}
_BEFORE_RESEARCH = _ALL - {"research_runs"}
_JOURNAL = {"orders", "order_events", "fills", "positions", "strategy_events", "risk_events"}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_head_constant_matches_the_scripts() -> None:
    assert head_revision() == SCHEMA_HEAD


def test_upgrade_from_empty_downgrade_and_upgrade_again(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) is None
        assert upgrade(engine) == SCHEMA_HEAD
        assert _tables(empty_db_url) == _ALL

        assert downgrade(engine) == "0006_bar_source"  # no research runs
        assert _tables(empty_db_url) == _BEFORE_RESEARCH
        assert downgrade(engine) == "0005_run_curves"  # bars lose their source column
        assert _tables(empty_db_url) == _BEFORE_RESEARCH
        assert downgrade(engine) == "0004_timescale"  # curves back to backtest_equity rows
        assert _tables(empty_db_url) == _BEFORE_RESEARCH | {"backtest_equity"}
        assert downgrade(engine) == "0003_trading_journal"  # TimescaleDB step: no-op here
        assert _tables(empty_db_url) == _BEFORE_RESEARCH | {"backtest_equity"}
        assert downgrade(engine) == "0002_backtest_runs"
        assert _tables(empty_db_url) == (_BEFORE_RESEARCH | {"backtest_equity"}) - _JOURNAL

        assert upgrade(engine) == SCHEMA_HEAD
        assert _tables(empty_db_url) == _ALL
        assert downgrade(engine, "base") is None
        assert _tables(empty_db_url) == set()
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)

    def relevant(obj: object, name: str | None, kind: str, *_: object) -> bool:
        # The BRIN index is a PostgreSQL-only addition of migration 0001.
        return not (kind == "index" and name == "ix_bars_ts_brin")

    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": relevant, "compare_type": False})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_open_store_migrates_an_empty_database(empty_db_url: str) -> None:
    with open_store(url=empty_db_url) as store:
        assert current_revision(store.engine) == SCHEMA_HEAD
        assert store.runs.list_runs() == []


def test_an_outdated_database_asks_for_db_upgrade(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0002_backtest_runs")
        with pytest.raises(ConfigError, match="run `trading-strategy db upgrade`"):
            ensure_schema(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        with pytest.raises(ConfigError, match="does not know"):
            ensure_schema(engine)
    finally:
        engine.dispose()


def test_foreign_tables_without_revision_are_not_touched(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE instruments (x INTEGER)"))
        with pytest.raises(ConfigError, match="no schema revision"):
            ensure_schema(engine)
    finally:
        engine.dispose()


def test_sqlite_ddl_is_transactional(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/ddl.sqlite3")
    try:
        with pytest.raises(RuntimeError), engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            raise RuntimeError("roll back")
        with engine.connect() as connection:
            assert inspect(connection).get_table_names() == []
    finally:
        engine.dispose()
