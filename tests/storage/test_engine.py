"""Engine factory, URL redaction and error translation (no password ever shown)."""

from __future__ import annotations

import logging
import socket
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from trading_strategy.config import Settings
from trading_strategy.core.errors import ConfigError, RetryableError
from trading_strategy.storage import (
    DatabaseError,
    make_engine,
    open_store,
    redact_url,
)
from trading_strategy.storage.errors import translate_error

SECRET = "s3cr3t-Pa55word"


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("url", "expected"), [
    (f"postgresql+psycopg://user:{SECRET}@db:5432/ts", "postgresql+psycopg://user:***@db:5432/ts"),
    (f"postgresql://user:{SECRET}@db/ts?sslmode=require",
     "postgresql://user:***@db/ts?sslmode=require"),
    ("postgresql://u:p@ss/w@rd@db/ts", "postgresql://u:***@db/ts"),
    (f"postgresql://db/ts?user=u&password={SECRET}", "postgresql://db/ts?user=u&password=***"),
    (f"host=db password={SECRET} user=u", "host=db password=*** user=u"),
    ("postgresql://user@db/ts", "postgresql://user@db/ts"),
    ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
])
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_sqlite_engine_creates_folder_and_sets_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "db.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        assert path.exists()
    finally:
        engine.dispose()


def test_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path).effective_database_url())
    try:
        assert engine.dialect.name == "sqlite"
        assert engine.url.database == str(tmp_path / "trading-strategy.sqlite3")
    finally:
        engine.dispose()


def test_postgresql_urls_select_psycopg() -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"):
        engine = make_engine(url)
        assert engine.url.drivername == "postgresql+psycopg"
        engine.dispose()  # never connected: creating an engine does no I/O


@pytest.mark.parametrize("url", [
    f"mysql://root:{SECRET}@localhost/db",
    f"postgresql+asyncpg://u:{SECRET}@h/db",
    f"::not a url:{SECRET}@",
])
def test_unsupported_or_malformed_urls(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_engine(url)
    assert SECRET not in str(info.value)


def test_unreachable_database_is_a_config_error_without_the_password(
        caplog: pytest.LogCaptureFixture) -> None:
    url = f"postgresql+psycopg://trader:{SECRET}@127.0.0.1:{_unused_port()}/nowhere"
    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigError) as info:
        open_store(url=url)
    message = str(info.value)
    assert "cannot connect" in message and "trader:***@127.0.0.1" in message
    assert SECRET not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert SECRET not in caplog.text


def test_failed_login_is_a_config_error_without_the_password(pg_database: str) -> None:
    # trust auth accepts any password; a missing database fails the same connect path.
    url = pg_database.replace("postgres@", f"postgres:{SECRET}@").rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(ConfigError) as info:
        open_store(url=url)
    assert "no_such_db" in str(info.value) and SECRET not in str(info.value)


def test_translation_of_driver_errors() -> None:
    url = f"postgresql+psycopg://u:{SECRET}@h/db"
    locked = translate_error(sqlite3.OperationalError("database is locked"), url)
    assert isinstance(locked, RetryableError)
    other = translate_error(sqlite3.IntegrityError(f"UNIQUE failed {SECRET}"), url)
    assert isinstance(other, DatabaseError) and SECRET not in str(other)
    assert translate_error(ValueError("x"), url) is None


def test_store_url_property_hides_the_password(pg_database: str) -> None:
    url = pg_database.replace("postgres@", f"postgres:{SECRET}@")
    with open_store(url=url) as store:
        assert SECRET not in store.url and "***" in store.url


@pytest.mark.parametrize("form", ["userinfo", "query"])
def test_succeeding_commands_print_no_password(pg_database: str, form: str,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from trading_strategy.cli import main

    # trust auth accepts any password, so the commands succeed with the secret in the URL
    url = (pg_database.replace("postgres@", f"postgres:{SECRET}@") if form == "userinfo"
           else f"{pg_database}?password={SECRET}")
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", url)
    for command in (["db", "current"], ["db", "upgrade"], ["runs", "list"],
                    ["config", "show"], ["config", "show", "--json"]):
        assert main(command) == 0, command
        out, err = capsys.readouterr()
        assert SECRET not in out + err, command
        assert "***" in out or command[0] == "runs", command  # the URL is shown, masked
