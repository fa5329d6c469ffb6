"""Sweep throughput: a 10 x 10 grid of sma_crossover (fast 5..50, slow 60..150) over
1,000,000 synthetic one-minute bars (bench/backtest_throughput.py's GBM, seed 42), as
``trading-strategy optimize`` runs it: on the compiled fast path and on the event-driven
engine.

Figures: bar-evaluations per second (bars x runs / wall seconds, the whole sweep with its
diagnostics' inputs) on the compiled fast path (``research.fastpath``: numba, in this
process, on 1 and 2 threads; the JIT timed apart, before: its compile from scratch in a
fresh interpreter and its load from numba's cache here), with the CPU seconds (this machine
is shared: wall figures move with the load), then
its simulation alone (the strategy's signals and the kernel, no metrics); and the
event-driven engine on a local process pool of 1 and of 2 workers, and on a Dask
LocalCluster of 1 and of 2 worker processes (the speed-up from 1 to 2). vectorbt is not
installed here: its published warm figure on this machine (~2.3 million bar-evaluations per
second) is printed beside ours for scale.

    .venv/bin/python bench/sweep.py [--bars N] [--grid K] [--no-dask] [--fast-only]

Prints readable figures; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

VECTORBT_PUBLISHED = 2_300_000


def _backtest(bars: int) -> Any:
    import pandas as pd

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from backtest_throughput import synthetic_gbm

    from trading_strategy import Backtest

    raw = synthetic_gbm(bars)
    frame = pd.DataFrame({k: raw[k] for k in ("open", "high", "low", "close", "volume")},
                         index=pd.to_datetime(raw["ts"], utc=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest(frame, "sma_crossover", commission=0.001, size="1",
                        symbol="SYN", timeframe="1m", allow_short_history=True,
                        store=False)


def _timed(backtest: Any, space: dict[str, list[int]], **how: Any) -> tuple[float, int]:
    from trading_strategy.research import optimize

    started = time.perf_counter()
    result = optimize(backtest, space, **how)
    seconds = time.perf_counter() - started
    ok = result.counts["ok"]
    if ok != result.counts["trials"]:
        raise SystemExit(f"{result.counts['trials'] - ok} trials did not run: {how}")
    return seconds, ok


def _fast(backtest: Any, space: dict[str, list[int]], evaluations: int,
          figures: dict[str, Any]) -> None:
    from trading_strategy.research import fastpath

    compile_seconds = _compile_from_scratch()
    figures["fast_compile_seconds"] = round(compile_seconds, 2)
    jit = fastpath.warm_up()
    figures["fast_jit_seconds"] = round(jit, 2)
    print(f"  fast path JIT: {compile_seconds:.2f} s to compile from scratch (a fresh "
          f"interpreter, empty numba cache), {jit:.2f} s here (numba's on-disk cache); "
          "neither is in the figures below")
    for threads in (1, 2):
        cpu = os.times()
        seconds, _ = _timed(backtest, space, workers=threads, fast=True)
        after = os.times()
        busy = after.user - cpu.user + after.system - cpu.system
        rate = evaluations / seconds
        figures[f"fast_{threads}_seconds"] = round(seconds, 2)
        figures[f"fast_{threads}_cpu_seconds"] = round(busy, 2)
        figures[f"fast_{threads}_bar_evals_per_sec"] = round(rate)
        print(f"  fast path, {threads} thread{'s' if threads > 1 else ' '}:        "
              f"{seconds:7.1f} s  {rate:12,.0f} bar-evaluations/s  ({busy:.1f} CPU s: "
              f"{evaluations / busy:,.0f} per CPU second)")
    seconds = _simulation_only(backtest, space)
    rate = evaluations / seconds
    figures["fast_simulation_seconds"] = round(seconds, 2)
    figures["fast_simulation_bar_evals_per_sec"] = round(rate)
    print(f"  fast path, simulation only (1 thread): {seconds:5.1f} s  {rate:12,.0f} "
          "bar-evaluations/s (signals and kernel, no metrics)")


def _compile_from_scratch() -> float:
    """The kernel's compile time: ``warm_up`` in a fresh interpreter whose numba cache
    directory is empty (what the first sweep on a machine pays once)."""
    import subprocess
    import tempfile

    code = "from trading_strategy.research import fastpath; print(fastpath.warm_up())"
    with tempfile.TemporaryDirectory() as cache:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "NUMBA_CACHE_DIR": cache}, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def _simulation_only(backtest: Any, space: dict[str, list[int]]) -> float:
    """The strategy's signals and the kernel for every point, nothing after."""
    import numpy as np

    from trading_strategy.research import fastpath
    from trading_strategy.research.fastpath import codes, kernel
    from trading_strategy.research.fastpath.declaration import IndicatorMemo, signals
    from trading_strategy.strategies import indicators

    plan = fastpath.plan_for(backtest)
    assert isinstance(plan, fastpath.Plan), plan
    n = len(plan.bars)
    memo = IndicatorMemo(indicators, plan.columns)
    started = time.perf_counter()
    for fast in space["fast"]:
        for slow in space["slow"]:
            params = plan.strategy.parse_params({"fast": fast, "slow": slow})
            flags, stops = signals(plan.strategy, params, plan.bars, plan.columns, memo)
            room = 3 * int(np.count_nonzero(flags)) + 4
            status = kernel.simulate(
                plan.open_t, plan.high_t, plan.low_t, plan.close_t, flags, stops,
                plan.allowed, plan.slip_bar, plan.cfg, plan.costs,
                np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
                np.zeros((room, codes.TRADE_COLUMNS), dtype=np.int64),
                np.zeros((room, codes.FILL_COLUMNS), dtype=np.int64),
                np.zeros(8, dtype=np.int64))
            assert status == codes.OK
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--grid", type=int, default=10, help="values per parameter (K x K)")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--fast-only", action="store_true",
                        help="only the fast path's figures (the engine's take minutes)")
    args = parser.parse_args()

    k = args.grid
    space = {"fast": [5 * (i + 1) for i in range(k)], "slow": [60 + 10 * i for i in range(k)]}
    backtest = _backtest(args.bars)
    runs = k * k
    evaluations = args.bars * runs
    print(f"sweep: {k}x{k} grid of sma_crossover over {args.bars:,} bars "
          f"({evaluations:,} bar-evaluations)")
    figures: dict[str, Any] = {"bars": args.bars, "runs": runs}
    _fast(backtest, space, evaluations, figures)
    print(f"  vectorbt (published, warm, this machine; not installed here): "
          f"{VECTORBT_PUBLISHED:,} bar-evaluations/s")
    figures["vectorbt_published_bar_evals_per_sec"] = VECTORBT_PUBLISHED
    best = max(figures["fast_1_bar_evals_per_sec"], figures["fast_2_bar_evals_per_sec"])
    figures["fast_bar_evals_per_sec"] = best
    figures["fast_vs_vectorbt"] = round(best / VECTORBT_PUBLISHED, 1)
    print(f"  fast path, best of the two: {best:,} bar-evaluations/s, "
          f"{figures['fast_vs_vectorbt']:.1f}x vectorbt's published figure")
    if args.fast_only:
        print(json.dumps(figures))
        return 0
    for workers in (1, 2):
        seconds, _ = _timed(backtest, space, workers=workers, fast=False)
        rate = evaluations / seconds
        figures[f"pool_{workers}_seconds"] = round(seconds, 2)
        figures[f"pool_{workers}_bar_evals_per_sec"] = round(rate)
        print(f"  process pool, {workers} worker{'s' if workers > 1 else ' '}: "
              f"{seconds:7.1f} s  {rate:12,.0f} bar-evaluations/s")
    figures["pool_speedup"] = round(figures["pool_1_seconds"] / figures["pool_2_seconds"], 2)
    if not args.no_dask:
        from distributed import LocalCluster

        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                seconds, _ = _timed(backtest, space, dask_scheduler=cluster.scheduler_address,
                                    fast=False)
            rate = evaluations / seconds
            figures[f"dask_{workers}_seconds"] = round(seconds, 2)
            figures[f"dask_{workers}_bar_evals_per_sec"] = round(rate)
            print(f"  Dask LocalCluster, {workers} worker{'s' if workers > 1 else ' '}: "
                  f"{seconds:7.1f} s  {rate:12,.0f} bar-evaluations/s")
        figures["dask_speedup"] = round(figures["dask_1_seconds"] / figures["dask_2_seconds"],
                                        2)
        print(f"  Dask speed-up 1 -> 2 workers: {figures['dask_speedup']:.2f}x")
    print(f"  process pool speed-up 1 -> 2 workers: {figures['pool_speedup']:.2f}x")
    figures["fast_vs_event_driven"] = round(best / max(figures["pool_1_bar_evals_per_sec"],
                                                       figures["pool_2_bar_evals_per_sec"]), 1)
    print(f"  fast path vs event-driven (best of each): "
          f"{figures['fast_vs_event_driven']:.1f}x")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
