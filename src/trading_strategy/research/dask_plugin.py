"""The Dask worker plugin that gives every worker the sweep's backtest (imported only when
a sweep runs on Dask: ``distributed`` is a heavy, optional import)."""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin  # type: ignore[import-untyped, unused-ignore]

from trading_strategy.research.trial import Trial, evaluate

#: backtests installed on this worker, by sweep token
_backtests: dict[str, Any] = {}


class BacktestPlugin(WorkerPlugin):  # type: ignore[misc, unused-ignore]
    """Every worker (also one started after a crash) holds the backtest before its first
    task, so tasks carry only (index, params) and the scheduler balances them freely, with
    no large dependency pinning them to a worker."""

    idempotent = False

    def __init__(self, token: str, backtest: Any) -> None:
        self.token = token
        self.backtest = backtest

    def setup(self, worker: Any) -> None:
        _backtests[self.token] = self.backtest

    def teardown(self, worker: Any) -> None:
        _backtests.pop(self.token, None)


def task(token: str, index: int, params: dict[str, Any]) -> Trial:
    return evaluate(_backtests[token], index, params)
