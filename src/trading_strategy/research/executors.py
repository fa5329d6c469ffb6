"""Where trials run: in this process, a local process pool (the default), or a Dask cluster.

Each executor takes the backtest once (a pool's initializer, a Dask scatter) and then
(index, params) tasks, and yields finished ``Trial`` objects as they complete, in
completion order. A worker that dies loses only the tasks it held: the pool is rebuilt
and they are retried (Dask reschedules them itself); a task that fails ``MAX_ATTEMPTS``
times is a row with status ``error``, never a crashed sweep.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from trading_strategy.core.errors import ConfigError
from trading_strategy.research.trial import Trial, evaluate

if TYPE_CHECKING:
    from trading_strategy.research.target import BacktestLike

Task = tuple[int, dict[str, Any]]
MAX_ATTEMPTS = 3
#: tasks in flight per pool worker
AHEAD = 2

_worker_backtest: Any = None


def _init_worker(backtest: BacktestLike) -> None:
    global _worker_backtest
    _worker_backtest = backtest


def _pool_task(index: int, params: dict[str, Any]) -> Trial:
    return evaluate(_worker_backtest, index, params)


def _context(backtest: BacktestLike) -> multiprocessing.context.BaseContext:
    """Spawned workers when a fresh interpreter can import the strategy by its module
    name: a forked worker inherits the parent's whole heap, and on a million bars two
    forked workers ran slower than one (bench/sweep.py: 78 s against 61 s; spawned: 47 s
    against 74 s). A strategy from a file, a notebook or a script's ``__main__`` exists
    only in this process: forked workers inherit it."""
    from importlib.machinery import PathFinder

    module = getattr(backtest.strategy, "__module__", "__main__") or "__main__"
    top = module.partition(".")[0]
    importable = module != "__main__" and PathFinder.find_spec(top) is not None
    return multiprocessing.get_context("spawn" if importable else "fork")


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def run_inline(backtest: BacktestLike, tasks: Sequence[Task]) -> Iterator[Trial]:
    for index, params in tasks:
        yield evaluate(backtest, index, params)


def _isolated(backtest: BacktestLike, index: int, params: dict[str, Any]) -> Trial | None:
    """The task alone in a fresh one-process pool; None when its process dies."""
    with ProcessPoolExecutor(max_workers=1, initializer=_init_worker,
                             initargs=(backtest,), mp_context=_context(backtest)) as pool:
        try:
            return pool.submit(_pool_task, index, params).result()
        except BrokenProcessPool:
            return None


def run_pool(backtest: BacktestLike, tasks: Sequence[Task],
             workers: int) -> Generator[Trial, None, None]:
    """A ``ProcessPoolExecutor`` of ``workers`` processes. At most ``AHEAD`` tasks per
    worker are submitted at a time (one running, one waiting in the pool's queue, so a
    worker starts its next task without waiting for this process to hear of the last), so
    when a process dies the suspects are those few: each is retried alone in a fresh
    process (the one that kills its process is an ``error`` row after ``MAX_ATTEMPTS``),
    then the pool is rebuilt for the rest."""
    queue: deque[Task] = deque(tasks)
    suspects: deque[Task] = deque()
    attempts: dict[int, int] = {}
    while queue or suspects:
        while suspects:
            index, params = suspects.popleft()
            attempts[index] = attempts.get(index, 0) + 1
            trial = _isolated(backtest, index, params)
            if trial is not None:
                yield trial
            elif attempts[index] + 1 >= MAX_ATTEMPTS:
                yield Trial(index, params, "error",
                            message=f"its worker process died {attempts[index] + 1} times")
            else:
                suspects.append((index, params))
        if not queue:
            break
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                   initargs=(backtest,), mp_context=_context(backtest))
        running: dict[Future[Trial], Task] = {}
        finished = False
        try:
            while queue or running:
                while queue and len(running) < workers * AHEAD:
                    task = queue.popleft()
                    running[pool.submit(_pool_task, *task)] = task
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    task = running.pop(future)
                    try:
                        trial = future.result()
                    except BrokenProcessPool:
                        broken = True
                        suspects.append(task)
                        continue
                    yield trial
                if broken:
                    for future, task in running.items():
                        if future.done() and future.exception() is None:
                            yield future.result()
                        else:
                            suspects.append(task)
                    running.clear()
                    break
            else:
                finished = True
        finally:
            # done: wait for the workers to exit, so that freeing their copies of the data
            # does not compete with what runs next (the next window, the next sweep); a
            # consumer that stopped early or a broken pool is not waited for
            pool.shutdown(wait=finished, cancel_futures=not finished)


def run_dask(backtest: BacktestLike, tasks: Sequence[Task], address: str) -> Iterator[Trial]:
    """The tasks on the Dask cluster at ``address`` (``tcp://HOST:PORT``); the cluster's
    scheduler does the scheduling, retries and rescheduling of a dead worker's tasks."""
    import contextlib
    import uuid

    try:
        import distributed

        from trading_strategy.research import dask_plugin
    except ImportError:
        raise ConfigError("--dask-scheduler needs dask: pip install 'dask[distributed]'") from None
    dask: Any = distributed  # untyped library: its calls are checked by the tests
    try:
        client = dask.Client(address, timeout=10)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    token = f"trading-strategy-sweep-{uuid.uuid4().hex}"
    try:
        client.register_plugin(dask_plugin.BacktestPlugin(token, backtest), name=token)
        futures = {client.submit(dask_plugin.task, token, index, params, pure=False,
                                 retries=MAX_ATTEMPTS - 1): (index, params)
                   for index, params in tasks}
        for future in dask.as_completed(futures):
            index, params = futures[future]
            try:
                trial = future.result()
            except Exception as exc:  # KilledWorker and friends: this task's row only
                trial = Trial(index, params, "error", message=f"{type(exc).__name__}: {exc}")
            yield trial
            future.release()
    finally:
        with contextlib.suppress(Exception):  # the cluster may be gone: nothing to clean
            client.unregister_worker_plugin(token)
        client.close()
