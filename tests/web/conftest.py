"""Fixtures of the web tests: the real app over a real database (SQLite and PostgreSQL,
the storage tests' fixtures), holding two saved backtest runs and a finished paper session
(``examples/portfolio.toml`` replayed), and clients that speak to it over HTTP."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from trading_strategy.cli import main as cli
from trading_strategy.web import create_app
from trading_strategy.web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-operator-token"


def _storage_fixtures() -> object:
    # tests/storage is no package: load its conftest to reuse its database fixtures
    spec = importlib.util.spec_from_file_location(
        "_storage_conftest", ROOT / "tests" / "storage" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_storage = _storage_fixtures()
pg_port = _storage.pg_port  # type: ignore[attr-defined]
pg_database = _storage.pg_database  # type: ignore[attr-defined]
sqlite_template = _storage.sqlite_template  # type: ignore[attr-defined]
db_url = _storage.db_url  # type: ignore[attr-defined]


def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a new thread: the CLI runs its own event loop, which it
    cannot where one already runs (sync Playwright keeps one in the main thread)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(function(*args))
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


@pytest.fixture
def seeded(db_url: str, _isolated_data_dir: Path,
           monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Two saved runs (1: sma_crossover on GOOG, 2: rsi_reversion on MSFT) and the paper
    session ``demo`` run to its end, all in ``db_url`` and the test's data folder."""
    monkeypatch.setenv("TRADING_STRATEGY_DATABASE_URL", db_url)
    assert in_thread(cli, ["backtest", "--strategy", "sma_crossover", "--data", "GOOG"]) == 0
    assert in_thread(cli, ["backtest", "--strategy", "rsi_reversion", "--data", "MSFT"]) == 0
    assert in_thread(cli, ["run", "--config", str(ROOT / "examples" / "portfolio.toml"),
                           "--quiet"]) == 0
    return SimpleNamespace(url=db_url, data_dir=_isolated_data_dir)


def make_app(token: str | None = TOKEN, **web: object) -> object:
    from trading_strategy.config import load_settings

    return create_app(load_settings(), web=WebSettings(token=token, **web))


@pytest.fixture
def client(seeded: SimpleNamespace) -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:  # type: ignore[arg-type]
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The app served by uvicorn on a free 127.0.0.1 port in a thread."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1",  # type: ignore[arg-type]
                                                    port=self.port, log_level="warning",
                                                    timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
