"""``trading-strategy walk-forward``: choose parameters in sample, score them out of sample,
window after window; the stitched out-of-sample equity and stats."""

from __future__ import annotations

import argparse
from typing import Any

from trading_strategy.cli.database import open_database
from trading_strategy.cli.optimize_cmd import (
    add_backtest_options,
    announce,
    check_params,
    open_backtest,
    progress_line,
    save_walk_forward,
    write_outputs,
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "walk-forward", help="walk-forward analysis of a parameter search",
        description="Rolling (or --anchored) train/test windows: the best parameters of "
                    "each training span are scored on the test span that follows it.")
    add_backtest_options(p)
    p.add_argument("--train", default="2y", help="training span: 2y, 18m, 26w, 90d, 500b "
                   "(bars) (default 2y)")
    p.add_argument("--test", default="6m", help="test span, same units (default 6m)")
    p.add_argument("--anchored", action="store_true",
                   help="every training span starts at the first bar")
    p.add_argument("--method", choices=("grid", "random", "bayes"), default="grid",
                   help="the search in each training window (default grid)")
    p.add_argument("--trials", type=int, default=None,
                   help="random, bayes: points per window (default 50)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="bayes: keep each window's Optuna study in this database, so a "
                        "rerun resumes (default: in memory)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from trading_strategy.research.walk_forward import walk_forward

    check_params(args)
    store = open_database(args)
    try:
        backtest = open_backtest(args, store)
        result = walk_forward(backtest, args.param, train=args.train, test=args.test,
                              anchored=args.anchored, maximize=args.maximize,
                              minimize=args.minimize, constraints=args.constraint,
                              method=args.method, trials=args.trials, seed=args.seed,
                              workers=args.workers, dask_scheduler=args.dask_scheduler,
                              storage=args.storage, progress=_windows_progress(args.quiet))
        title = (f"Walk-forward: {backtest.strategy.name} on "
                 f"{backtest.bars.instrument.symbol}")
        write_outputs(args, result, summary(result), title)
        if store is not None:
            announce(args, save_walk_forward(store, backtest, result, title))
        return 0
    finally:
        if store is not None:
            store.close()


def _windows_progress(quiet: bool) -> Any:
    bar = progress_line(quiet)
    if bar is None:
        return None
    import time

    started = time.monotonic()

    def update(done: int, total: int, _elapsed: float, _left: float | None) -> None:
        elapsed = time.monotonic() - started
        bar(done, total, elapsed, elapsed / done * (total - done) if done else None)

    return update


def summary(result: Any) -> str:
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]

    lines = [result.describe(), pd.DataFrame(result.window_rows()).to_string(index=False),
             "out of sample: " + ", ".join(
                 f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                 for k, v in result.stats.items())]
    lines += [f"- {line}" for line in result.verdicts]
    return "\n".join(lines)
