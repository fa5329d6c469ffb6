"""Fixtures: every repository test runs on SQLite and on a real PostgreSQL.

PostgreSQL: the server on 127.0.0.1:5432 (user postgres, trust auth) when reachable,
otherwise a throwaway server started here with ``initdb``/``pg_ctl`` from
/usr/lib/postgresql/*/bin (as the ``postgres`` user when running as root). Tests skip
only when neither exists. One uniquely named database is created per session, migrated
once and dropped at the end; each test starts from emptied tables. Set
``STORAGE_TESTS_OWN_PG=1`` to always use a throwaway server. SQLite tests get a
copy of a migrated template file.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import psycopg
import pytest
from sqlalchemy.engine import Engine

from trading_strategy.core.bars import BarSeries, datetime_to_ns
from trading_strategy.core.instrument import AssetClass, Calendar, Instrument
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.storage import Store, ensure_schema, make_engine

BACKENDS = ("sqlite", "postgresql")
_LOCAL = "postgresql+psycopg://postgres@127.0.0.1:{port}/{db}"
_TABLES = ("order_events", "fills", "orders", "positions", "strategy_events", "risk_events",
           "backtest_trades", "backtest_runs", "research_runs", "bars", "instruments")


def _reachable(port: int) -> bool:
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                             connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ThrowawayServer:
    """initdb + pg_ctl in a temporary folder; as user postgres when we are root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="ts-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.folder / "log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_port() -> Iterator[int]:
    # STORAGE_TESTS_OWN_PG=1 forces the throwaway server (to test that path, or to keep
    # the suite off a shared server).
    if not os.environ.get("STORAGE_TESTS_OWN_PG") and _reachable(5432):
        yield 5432
        return
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 and no PostgreSQL binaries "
                    "(/usr/lib/postgresql/*/bin/initdb) to start one")
    server = _ThrowawayServer(Path(bins[-1]).parent)
    server.start()
    try:
        for _ in range(50):
            if _reachable(server.port):
                break
            time.sleep(0.1)
        yield server.port
    finally:
        server.stop()


def _admin(port: int, sql: str) -> None:
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                         autocommit=True) as connection:
        connection.execute(sql.encode())


@pytest.fixture(scope="session")
def pg_database(pg_port: int) -> Iterator[str]:
    """URL of a migrated database created for this test session (dropped after)."""
    name = f"ts_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(pg_port, f"CREATE DATABASE {name}")
    url = _LOCAL.format(port=pg_port, db=name)
    engine = make_engine(url)
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()
    try:
        yield url
    finally:
        _admin(pg_port, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def empty_pg_database(pg_port: int) -> Iterator[str]:
    """URL of a brand-new empty database (for migration tests), dropped after the test."""
    name = f"ts_empty_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(pg_port, f"CREATE DATABASE {name}")
    try:
        yield _LOCAL.format(port=pg_port, db=name)
    finally:
        _admin(pg_port, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        ensure_schema(engine)
        with engine.connect() as connection:  # fold the WAL into the file before copying
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_database")
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as connection:
        connection.execute(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema at all, of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    url: str = request.getfixturevalue("empty_pg_database")
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def store(engine: Engine) -> Store:
    return Store(engine)


# --- bar builders, handed to tests by the ``kit`` fixture (tests/storage is no package) ---
def ns(text: str) -> int:
    return datetime_to_ns(datetime.fromisoformat(text.replace("Z", "+00:00")))


def instrument(symbol: str = "TEST", tick: str = "0.01", *,
               calendar: Calendar = Calendar.XNYS) -> Instrument:
    asset = AssetClass.CRYPTO if calendar is Calendar.ALWAYS else AssetClass.EQUITY
    return Instrument(symbol, tick_size=Decimal(tick), asset_class=asset, calendar=calendar)


def random_bars(n: int, *, symbol: str = "TEST", timeframe: str = "1m",
                start: str = "2024-01-01T00:00:00Z", tick: str = "0.01", seed: int = 0,
                inst: Instrument | None = None) -> BarSeries:
    """``n`` valid bars on the tick grid, one timeframe apart."""
    frame = Timeframe.parse(timeframe)
    rng = np.random.default_rng(seed)
    ts = ns(start) + np.arange(n, dtype=np.int64) * frame.nanoseconds
    step = float(tick)
    close = np.round(100 + np.cumsum(rng.normal(0, 0.2, n)), 2)
    open_ = np.round(close + rng.integers(-3, 4, n) * step, 2)
    high = np.maximum(open_, close) + rng.integers(0, 4, n) * step
    low = np.minimum(open_, close) - rng.integers(0, 4, n) * step
    volume = rng.integers(1, 10_000, n).astype(np.float64)
    return BarSeries(inst or instrument(symbol, tick), frame, ts, np.round(open_, 2),
                     np.round(high, 2), np.round(low, 2), close, volume)


def bars_from_rows(rows: Sequence[tuple[str, float, float, float, float, float]], *,
                   timeframe: str, inst: Instrument | None = None) -> BarSeries:
    """Bars from ``(time, open, high, low, close, volume)`` rows."""
    columns = list(zip(*rows, strict=True))
    return BarSeries(
        inst or instrument(), Timeframe.parse(timeframe),
        np.array([ns(t) for t in columns[0]], dtype=np.int64),
        *(np.array(col, dtype=np.float64) for col in columns[1:]),
    )


@pytest.fixture
def kit() -> SimpleNamespace:
    return SimpleNamespace(ns=ns, instrument=instrument, random_bars=random_bars,
                           bars_from_rows=bars_from_rows)
