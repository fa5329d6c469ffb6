"""Sweep throughput: a 10 x 10 grid of sma_crossover (fast 5..50, slow 60..150) over
1,000,000 synthetic one-minute bars (bench/backtest_throughput.py's GBM, seed 42) through
the event-driven engine, as ``trading-strategy optimize`` runs it.

Figures: bar-evaluations per second (bars x runs / wall seconds, the whole sweep with its
diagnostics' inputs) on a local process pool of 1 and of 2 workers, and on a Dask
LocalCluster of 1 and of 2 worker processes (the speed-up from 1 to 2). The numba fast
path of issue 14 is not built yet; vectorbt's published warm figure on this machine
(~2.3 million bar-evaluations per second) is printed beside ours for scale.

    .venv/bin/python bench/sweep.py [--bars N] [--grid K] [--no-dask]

Prints readable figures; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--grid", type=int, default=10, help="values per parameter (K x K)")
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()

    k = args.grid
    space = {"fast": [5 * (i + 1) for i in range(k)], "slow": [60 + 10 * i for i in range(k)]}
    backtest = _backtest(args.bars)
    runs = k * k
    evaluations = args.bars * runs
    print(f"sweep: {k}x{k} grid of sma_crossover over {args.bars:,} bars "
          f"({evaluations:,} bar-evaluations)")
    figures: dict[str, Any] = {"bars": args.bars, "runs": runs}
    for workers in (1, 2):
        seconds, _ = _timed(backtest, space, workers=workers)
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
                seconds, _ = _timed(backtest, space, dask_scheduler=cluster.scheduler_address)
            rate = evaluations / seconds
            figures[f"dask_{workers}_seconds"] = round(seconds, 2)
            figures[f"dask_{workers}_bar_evals_per_sec"] = round(rate)
            print(f"  Dask LocalCluster, {workers} worker{'s' if workers > 1 else ' '}: "
                  f"{seconds:7.1f} s  {rate:12,.0f} bar-evaluations/s")
        figures["dask_speedup"] = round(figures["dask_1_seconds"] / figures["dask_2_seconds"],
                                        2)
        print(f"  Dask speed-up 1 -> 2 workers: {figures['dask_speedup']:.2f}x")
    print(f"  process pool speed-up 1 -> 2 workers: {figures['pool_speedup']:.2f}x")
    print(f"  vectorbt (published, warm, this machine): {VECTORBT_PUBLISHED:,} "
          f"bar-evaluations/s; the numba fast path (issue 14 item 6) is not built yet")
    figures["vectorbt_published_bar_evals_per_sec"] = VECTORBT_PUBLISHED
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
