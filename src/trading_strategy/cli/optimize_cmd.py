"""``trading-strategy optimize``: search a strategy's parameters (grid, random or
Bayesian), over a process pool or a Dask cluster, with the overfitting diagnostics."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from trading_strategy.cli.database import open_database
from trading_strategy.core.errors import ConfigError

#: --fast auto|on|off as the sweep takes it
_FAST: dict[str, bool | Literal["auto"]] = {"auto": "auto", "on": True, "off": False}


def add_backtest_options(p: argparse.ArgumentParser) -> None:
    """The options that say what to backtest (shared with ``walk-forward``)."""
    p.add_argument("--strategy", required=True, help="strategy name (see `strategies`)")
    p.add_argument("--data", required=True,
                   help="symbol (stored or bundled sample), or a CSV/Parquet file")
    p.add_argument("--timeframe", default=None, help="bar timeframe, e.g. 1d, 1h")
    p.add_argument("--start", default=None, help="first date (YYYY-MM-DD, UTC)")
    p.add_argument("--end", default=None, help="last date (inclusive)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=SPEC",
                   help="a parameter to search: NAME=START:STOP:STEP (stop included), "
                        "NAME=A,B,C or NAME=VALUE; repeatable")
    p.add_argument("--cash", default="10000", help="initial cash (default 10000)")
    p.add_argument("--commission", default="0", help="commission, a fraction of notional")
    p.add_argument("--slippage-bps", default=None, help="slippage in basis points")
    p.add_argument("--size", default="all-in", help="order size: all-in, 25%%, or lots")
    goal = p.add_mutually_exclusive_group()
    goal.add_argument("--maximize", metavar="METRIC", default=None,
                      help="metric to maximise (default sharpe)")
    goal.add_argument("--minimize", metavar="METRIC", default=None,
                      help="metric to minimise, e.g. max_drawdown")
    p.add_argument("--constraint", action="append", default=[], metavar="RULE",
                   help="e.g. 'max_drawdown<=0.2' or 'trades>=20'; repeatable")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: every core; 0: this process)")
    p.add_argument("--dask-scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run the trials on this Dask cluster instead of local processes")
    p.add_argument("--fast", choices=("auto", "on", "off"), default="auto",
                   help="the compiled fast path for strategies that declare vectorised "
                        "signals: auto (when eligible, the default), on (or an error with "
                        "the reason), off (the event-driven engine)")
    p.add_argument("--json", dest="json_path", default=None, metavar="PATH",
                   help="write the results as JSON ('-': standard output)")
    p.add_argument("--html", dest="html_path", default=None, metavar="PATH",
                   help="write the HTML report (heatmap, table, diagnostics)")
    p.add_argument("--no-store", action="store_true",
                   help="never open the database (data from files or bundled samples)")
    p.add_argument("--quiet", action="store_true", help="no summary or progress")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "optimize", help="search strategy parameters, with overfitting diagnostics",
        description="Search a strategy's parameters and judge the best result: deflated "
                    "Sharpe ratio, probability of backtest overfitting (CSCV), bootstrap "
                    "intervals and parameter stability.")
    add_backtest_options(p)
    p.add_argument("--method", choices=("grid", "random", "bayes"), default="grid")
    p.add_argument("--trials", type=int, default=None,
                   help="points to try (random, bayes; default 50)")
    p.add_argument("--seed", type=int, default=0, help="random/bayes seed (default 0)")
    p.add_argument("--results", default=None, metavar="FILE.jsonl",
                   help="append each trial as it finishes; an interrupted sweep given the "
                        "same file resumes")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="bayes: the database of the Optuna study (default: ours)")
    p.add_argument("--study", default=None, help="bayes: the study's name (default: derived "
                   "from strategy, data and parameters, so a rerun resumes)")
    p.set_defaults(handler=run)


def open_backtest(args: argparse.Namespace, store: Any) -> Any:
    """The ``Backtest`` the options describe (the CLI's data rules, the API's checks)."""
    from trading_strategy.api import Backtest, DataWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        backtest = Backtest(args.data, args.strategy, cash=args.cash,
                            commission=args.commission,
                            slippage=None if args.slippage_bps is None
                            else float(_number("--slippage-bps", args.slippage_bps)),
                            size=args.size, timeframe=args.timeframe, start=args.start,
                            end=args.end, store=store if store is not None else False)
    if not args.quiet:
        for note in backtest.warnings:
            print(f"warning: {note}", file=sys.stderr)
    return backtest


def check_params(args: argparse.Namespace) -> None:
    if not args.param:
        raise ConfigError(f"{args.command} needs at least one --param NAME=START:STOP:STEP")


def _number(flag: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{flag} expects a number, got {text!r}") from None


def progress_line(quiet: bool) -> Callable[[int, int, float, float | None], None] | None:
    """A one-line progress bar with the ETA on stderr (a terminal only)."""
    if quiet or not sys.stderr.isatty():
        return None

    def update(done: int, total: int, elapsed: float, left: float | None) -> None:
        filled = int(30 * done / max(total, 1))
        eta = "" if left is None else f", ETA {_duration(left)}"
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} trials, "
                         f"{_duration(elapsed)} elapsed{eta}   ")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return update


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{whole}s"


def write_text(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text + "\n")
        return
    try:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    from trading_strategy.research import optimize

    check_params(args)
    store = open_database(args)
    try:
        backtest = open_backtest(args, store)
        result = optimize(backtest, args.param, maximize=args.maximize,
                          minimize=args.minimize, constraints=args.constraint,
                          method=args.method, trials=args.trials, seed=args.seed,
                          workers=args.workers, dask_scheduler=args.dask_scheduler,
                          results_path=args.results, storage=args.storage,
                          study_name=args.study, progress=progress_line(args.quiet),
                          fast=_FAST[args.fast])
        title = f"{backtest.strategy.name} on {backtest.bars.instrument.symbol}"
        write_outputs(args, result, summary(result), title)
        # saved after the files are written: a database error loses no hour-long search
        if store is not None:
            announce(args, save_sweep(store, backtest, result, title))
        return 0
    finally:
        if store is not None:
            store.close()


def _where(backtest: Any) -> dict[str, Any]:
    bars = backtest.bars
    timeframe = getattr(bars, "timeframe", None)
    return {"strategy": backtest.strategy.name, "symbol": bars.instrument.symbol,
            "timeframe": None if timeframe is None else str(timeframe)}


def save_sweep(store: Any, backtest: Any, result: Any, title: str) -> int:
    """Store a finished search as a research run (the dashboard's /research); its id."""
    from trading_strategy.research.report import sweep_document
    from trading_strategy.storage.research_runs import ResearchRunRepository

    best = result.best
    return ResearchRunRepository(store.engine).save_run(
        kind="optimize", **_where(backtest), objective=str(result.objective),
        trials=result.counts["trials"], best_params=None if best is None else best.params,
        best_score=None if best is None else result.score(best),
        verdict=result.verdicts[-1] if result.verdicts else None,
        report=sweep_document(result, title))


def save_walk_forward(store: Any, backtest: Any, result: Any, title: str) -> int:
    """Store a finished walk-forward as a research run; its id. Its best parameters are
    the last window's (what it would trade next), its score the out-of-sample objective."""
    from trading_strategy.research.report import walk_forward_document
    from trading_strategy.storage.research_runs import ResearchRunRepository

    chosen = [w.params for w in result.windows if w.params is not None]
    metric = str(result.objective).rsplit(" ", 1)[-1]
    score = result.stats.get(metric)
    return ResearchRunRepository(store.engine).save_run(
        kind="walk_forward", **_where(backtest), objective=str(result.objective),
        trials=sum(int(w.counts.get("trials", 0)) for w in result.windows),
        best_params=chosen[-1] if chosen else None,
        best_score=float(score) if isinstance(score, int | float) else None,
        verdict=result.verdicts[0] if result.verdicts else None,
        report=walk_forward_document(result, title))


def write_outputs(args: argparse.Namespace, result: Any, text: str, title: str) -> int:
    """The summary (unless quiet, or the JSON goes to stdout), ``--json`` and ``--html``:
    what optimize and walk-forward write alike."""
    if not args.quiet and args.json_path != "-":
        print(text)
    if args.json_path:
        write_text(args.json_path, result.to_json())
    if args.html_path:
        write_text(args.html_path, result.html(title))
    return 0


def announce(args: argparse.Namespace, saved: int) -> None:
    if not args.quiet and args.json_path != "-":
        print(f"saved as research run {saved} (trading-strategy serve: /research/{saved})")


def summary(result: Any) -> str:
    c = result.counts
    lines = [f"{result.method} search, {result.objective}: {c['trials']} trials "
             f"({c['ok']} ran, {c['invalid']} refused by the strategy's validation, "
             f"{c['error']} failed, {c['rejected']} outside the constraints)"]
    best = result.best
    if best is not None:
        lines.append(f"best: {best.params} -> {result.objective.metric} "
                     f"{result.score(best):.4g}")
        frame = result.frame
        shown = [col for col in (*result.space.names, "score", "total_return", "sharpe",
                                 "max_drawdown", "trades") if col in frame.columns]
        lines.append(frame[frame["score"].notna()][shown].head(10).to_string(index=False))
    lines += [f"- {line}" for line in result.verdicts]
    return "\n".join(lines)
