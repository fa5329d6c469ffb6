"""Suite-wide fixtures: every test runs with its own data folder and the default database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog


@pytest.fixture(autouse=True)
def _default_logging() -> Iterator[None]:
    """A test that configured logging (e.g. through the CLI) must not leak it."""
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Keep tests out of the user's data folder and database (SQLite file per test)."""
    data_dir = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("TRADING_STRATEGY_DATA_DIR", str(data_dir))
    monkeypatch.delenv("TRADING_STRATEGY_DATABASE_URL", raising=False)
    yield data_dir
