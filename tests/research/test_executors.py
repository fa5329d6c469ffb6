"""The local process pool: the same trials as in this process, its workers gone when the
sweep is done, a consumer that stops early leaves nothing running."""

from __future__ import annotations

import multiprocessing
import time
import warnings

import pytest

from trading_strategy import Backtest
from trading_strategy.research import executors

TASKS = [(i, {"fast": f, "slow": s}) for i, (f, s) in
         enumerate([(5, 20), (10, 30), (15, 40), (20, 50), (25, 60), (30, 70), (40, 30)])]


@pytest.fixture(scope="module")
def goog() -> Backtest:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest("GOOG", "sma_crossover", store=False)


def _no_children(within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while multiprocessing.active_children():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_pool_gives_what_this_process_gives(goog: Backtest) -> None:
    inline = {t.index: t for t in executors.run_inline(goog, TASKS)}
    pooled = list(executors.run_pool(goog, TASKS, 2))
    assert sorted(t.index for t in pooled) == list(range(len(TASKS)))
    for trial in pooled:
        expected = inline[trial.index]
        assert (trial.status, trial.stats, trial.returns, trial.message) == (
            expected.status, expected.stats, expected.returns, expected.message)
    assert inline[6].status == "invalid"  # fast >= slow: a row, in the pool too
    # a finished sweep has waited for its workers: none is left freeing its memory
    assert not multiprocessing.active_children()


def test_a_consumer_that_stops_early_leaves_no_worker_behind(goog: Backtest) -> None:
    stream = executors.run_pool(goog, TASKS, 2)
    first = next(stream)
    assert first.status in ("ok", "invalid")
    stream.close()  # the sweep was interrupted: queued tasks are cancelled
    assert _no_children()
