"""The same sweep on a Dask cluster (a LocalCluster of two worker processes); a worker
killed mid-sweep loses nothing: the scheduler reruns its tasks on the other.

(Named to run after the process-pool tests: the Dask client leaves threads behind, and a
pool of a strategy loaded from a file forks.)"""

from __future__ import annotations

import os
import signal
import warnings
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from trading_strategy import Backtest  # noqa: E402
from trading_strategy.core.errors import ConfigError  # noqa: E402
from trading_strategy.research import optimize  # noqa: E402
from trading_strategy.research.sweep import run_trials  # noqa: E402

SPACE = {"fast": [5, 10, 15, 20], "slow": [30, 40, 50, 60, 70]}


@pytest.fixture(scope="module")
def goog() -> Backtest:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest("GOOG", "sma_crossover", store=False)


@pytest.fixture()
def cluster() -> Any:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local


def test_dask_gives_the_pools_rows(goog: Backtest, cluster: Any) -> None:
    on_dask = optimize(goog, SPACE, dask_scheduler=cluster.scheduler_address).frame
    local = optimize(goog, SPACE, workers=0).frame
    assert on_dask.drop(columns="message").equals(local.drop(columns="message"))


def test_a_killed_dask_worker_loses_nothing(goog: Backtest, cluster: Any) -> None:
    points = [{"fast": f, "slow": s} for f in range(2, 20) for s in (30, 40, 50)]
    with distributed.Client(cluster.scheduler_address) as client:
        pids = list(client.run(os.getpid).values())
    killed: list[int] = []

    def kill_one(trial: Any) -> None:
        if not killed:  # the first result is in: the sweep is under way
            killed.append(pids[0])
            os.kill(pids[0], signal.SIGKILL)

    trials = run_trials(goog, points, dask_scheduler=cluster.scheduler_address,
                        on_trial=kill_one)
    assert killed
    assert [t.params for t in trials] == points
    assert all(t.status == "ok" for t in trials), [t.message for t in trials]


def test_an_unreachable_scheduler_is_one_line(goog: Backtest) -> None:
    with pytest.raises(ConfigError, match="Dask scheduler"):
        optimize(goog, SPACE, dask_scheduler="tcp://127.0.0.1:1")
