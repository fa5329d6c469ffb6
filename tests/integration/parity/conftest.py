"""The bars every parity test replays: 600 daily GOOG bars through the 2008 crash, and 600
synthetic geometric-Brownian-motion bars (every calendar day) written once per module."""

from __future__ import annotations

import pytest

from trading_strategy.strategies import registry

from .harness import DataSet, dataset, write_gbm


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DataSet]:
    gbm = write_gbm(tmp_path_factory.mktemp("bars") / "gbm_1d.csv")
    return {"goog": dataset("goog", "GOOG", after="2007-01-01"),
            "gbm": dataset("gbm", str(gbm))}


@pytest.fixture(autouse=True)
def _registry_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each run registers a recording subclass: gone again after the test."""
    monkeypatch.setattr(registry, "_extra", dict(registry._extra))
