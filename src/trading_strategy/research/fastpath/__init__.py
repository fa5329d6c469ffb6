"""The sweep's compiled fast path: a parameter grid through a numba simulation of the engine.

A strategy that declares its ``on_bar`` as per-bar signals (``fast_signals``, see
``declaration``) and a run whose settings the kernel carries out exactly (``plan``) are
simulated by ``kernel.simulate``, one compiled call per parameter point, with no Python per
bar: the same fills, trades and equity as ``BacktestEngine`` to the money unit, and the
metrics from the same ``compute_metrics`` call. Everything else — and any point the kernel
meets something it does not do — goes through the event-driven engine, so a sweep gives the
same table either way (``tests/research/test_fastpath*.py`` prove it on every built-in
strategy).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from trading_strategy.core.errors import ParameterError
from trading_strategy.research.fastpath.plan import NotEligible, Plan, make_plan
from trading_strategy.research.trial import Trial, finished_trial, invalid_trial

if TYPE_CHECKING:
    from trading_strategy.research.target import BacktestLike

__all__ = ["NotEligible", "Plan", "make_plan", "plan_for", "run_fast", "warm_up"]

Task = tuple[int, dict[str, Any]]


def plan_for(backtest: BacktestLike) -> Plan | NotEligible:
    """The fast path's plan for ``backtest`` (a ``trading_strategy.Backtest``), or why not."""
    from trading_strategy.risk.settings import RiskSettings

    risk = getattr(backtest, "risk", None)
    if not isinstance(risk, RiskSettings):
        # Backtest.run always runs under its RiskSettings; another object's run is unknown
        return NotEligible(f"{type(backtest).__name__} has no risk settings to replay")
    return make_plan(backtest.strategy, backtest.bars, backtest.settings, risk,
                     allow_short_history=backtest.allow_short_history)


def run_fast(plan: Plan, tasks: Sequence[Task], *,
             fallback: Callable[[int, dict[str, Any]], Trial],
             threads: int = 1) -> Generator[Trial, None, None]:
    """A ``Trial`` per task, in task order: the strategy's parameter check, then the
    kernel; ``fallback`` (the event-driven evaluation, run here) for a point the kernel
    hands back. ``threads`` > 1 evaluates that many points at once: the kernel runs
    without the GIL and the metrics are mostly numpy, so both cores work in one process
    with nothing to copy to workers."""
    def one(task: Task) -> Trial | None:
        index, params = task
        started = time.perf_counter()
        try:
            parsed = plan.strategy.parse_params(params)
        except ParameterError as exc:
            return invalid_trial(index, params, exc)
        try:
            run = run_point(plan, parsed, memo)
        except Exception:  # the engine runs the point and reports the strategy's own error
            return None
        if run is None:
            return None
        return finished_trial(index, params, equity=run.equity, metrics=run.metrics,
                              trade_returns=run.trade_returns, open_trades=run.open_trades,
                              started=started)

    from trading_strategy.research.fastpath.declaration import IndicatorMemo
    from trading_strategy.research.fastpath.run import run_point
    from trading_strategy.strategies import indicators

    memo = IndicatorMemo(indicators, plan.columns)
    if threads <= 1 or len(tasks) < 2:
        results: Iterator[Trial | None] = map(one, tasks)
        for (index, params), trial in zip(tasks, results, strict=True):
            yield trial if trial is not None else fallback(index, params)
        return
    pool = ThreadPoolExecutor(max_workers=threads)
    try:
        for (index, params), trial in zip(tasks, pool.map(one, tasks), strict=True):
            yield trial if trial is not None else fallback(index, params)
    finally:
        # a consumer that stops early (an interrupted sweep) does not wait for the rest
        pool.shutdown(wait=True, cancel_futures=True)


def warm_up() -> float:
    """Compile (or load from numba's cache) the kernel on a few bars; the seconds it took."""
    import numpy as np

    from trading_strategy.research.fastpath import codes as k
    from trading_strategy.research.fastpath.kernel import simulate

    started = time.perf_counter()
    n = 4
    ticks = np.full(n, 100, dtype=np.int64)
    flags = np.array([k.LONG_ENTRY, k.LONG_EXIT, 0, 0], dtype=np.int8)
    cfg = np.array([10_000, k.SIZE_ALL_IN, 0, 1, 1, 1_000_000, 1], dtype=np.int64)
    costs = np.array([k.COMM_PERCENT, 1, 1000, 0, k.SLIP_BPS, 1, 1000], dtype=np.int64)
    simulate(ticks, ticks, ticks, ticks, flags, np.zeros(n, dtype=np.int64),
               np.ones(n, dtype=np.bool_), np.zeros(1, dtype=np.int64), cfg, costs,
               np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
               np.zeros((16, k.TRADE_COLUMNS), dtype=np.int64),
               np.zeros((16, k.FILL_COLUMNS), dtype=np.int64), np.zeros(8, dtype=np.int64))
    return time.perf_counter() - started
