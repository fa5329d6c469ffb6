"""Grid and random search: every point of a parameter space through ``Backtest.run``.

Trials stream back from the executor (``executors``) and are handed to ``on_trial`` and
appended to ``results_path`` (JSON lines) as each arrives, so an interrupted sweep given
the same file resumes where it stopped. Points the strategy's own validation refuses
(``fast >= slow``) are rows with status ``invalid``: counted, never a crash.

When the strategy declares vectorised signals and the run's settings are ones the compiled
simulation carries out exactly (``fastpath``), the points run through it in this process
instead (``fast="auto"``, the default, for two points or more and no Dask scheduler): the
same rows, far sooner. ``fast=False`` always runs the event-driven engine; ``fast=True``
refuses a sweep the fast path cannot run, with the reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from trading_strategy.core.errors import ConfigError
from trading_strategy.research import executors
from trading_strategy.research.grid import Constraint, Objective, ParamSpace, check_metric
from trading_strategy.research.results import SweepResult
from trading_strategy.research.trial import Trial, evaluate

if TYPE_CHECKING:
    from trading_strategy.research.fastpath.plan import Plan
    from trading_strategy.research.target import BacktestLike

#: (done, total, seconds elapsed, seconds left or None)
Progress = Callable[[int, int, float, float | None], None]

METHODS = ("grid", "random", "bayes")

#: ``True``: the compiled fast path or an error; ``False``: the event-driven engine;
#: ``"auto"``: the fast path when the sweep is eligible
FastOption = bool | Literal["auto"]


def _key(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def load_trials(path: Path) -> list[Trial]:
    """The trials already in a results file (a torn last line is ignored)."""
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                out.append(Trial.from_dict(json.loads(line)))
            except (ValueError, TypeError, KeyError):
                continue
    return out


def run_trials(backtest: BacktestLike, points: Sequence[dict[str, Any]], *,
               workers: int | None = None, dask_scheduler: str | None = None,
               results_path: str | Path | None = None,
               on_trial: Callable[[Trial], None] | None = None,
               progress: Progress | None = None, fast: FastOption = "auto") -> list[Trial]:
    """Evaluate ``points``; ``workers=0`` runs in this process, None uses every core;
    ``fast``: see the module docstring."""
    if fast not in (True, False, "auto"):
        raise ConfigError(f"fast must be true, false or 'auto', got {fast!r}")
    if fast is True and dask_scheduler:
        raise ConfigError("the fast path runs in this process: give either fast=True or a "
                          "Dask scheduler, not both")
    path = Path(results_path) if results_path is not None else None
    done_before = {_key(t.params): t for t in load_trials(path)} if path else {}
    trials: list[Trial] = []
    tasks = []
    for index, params in enumerate(points):
        previous = done_before.get(_key(params))
        if previous is not None and previous.status != "error":
            previous.index = index
            trials.append(previous)
        else:
            tasks.append((index, dict(params)))
    total, started = len(points), time.monotonic()
    if progress is not None:
        progress(len(trials), total, 0.0, None)
    plan = _fast_plan(backtest, fast, len(tasks)) if not dask_scheduler else None
    if plan is not None:
        threads = 1 if workers == 0 else (executors.default_workers() if workers is None
                                          else int(workers))
        if threads < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}")
        stream = fast_stream(plan, tasks, backtest, threads)
    elif dask_scheduler:
        stream = executors.run_dask(backtest, tasks, dask_scheduler)
    elif workers == 0 or len(tasks) <= 1:
        stream = executors.run_inline(backtest, tasks)
    else:
        count = executors.default_workers() if workers is None else int(workers)
        if count < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}")
        stream = executors.run_pool(backtest, tasks, min(count, len(tasks)))
    sink = path.open("a", encoding="utf-8") if path else None
    try:
        for fresh, trial in enumerate(stream, start=1):
            trials.append(trial)
            if sink is not None:
                sink.write(json.dumps(trial.to_dict(), default=str) + "\n")
                sink.flush()
            if on_trial is not None:
                on_trial(trial)
            if progress is not None:
                elapsed = time.monotonic() - started
                left = elapsed / fresh * (len(tasks) - fresh)
                progress(len(trials), total, elapsed, left)
    finally:
        if sink is not None:
            sink.close()
    trials.sort(key=lambda t: t.index)
    return trials


def _fast_plan(backtest: BacktestLike, fast: FastOption, tasks: int) -> Plan | None:
    """The fast path's plan when this sweep takes it. ``auto`` leaves a single point to the
    engine: loading the compiled kernel costs more than one run saves."""
    if fast is False or (fast == "auto" and tasks < 2):
        return None
    from trading_strategy.research.fastpath import NotEligible, plan_for

    plan = plan_for(backtest)
    if isinstance(plan, NotEligible):
        if fast is True:
            raise ConfigError(f"the fast path cannot run this sweep: {plan.reason}; "
                              "use fast='auto' to run it on the event-driven engine")
        return None
    return plan


def fast_stream(plan: Plan, tasks: Sequence[tuple[int, dict[str, Any]]],
                backtest: BacktestLike, threads: int = 1) -> Iterator[Trial]:
    """The tasks through the fast path on ``threads`` threads; a point it hands back runs
    on the engine here."""
    from trading_strategy.research.fastpath import run_fast

    return run_fast(plan, tasks, threads=threads,
                    fallback=lambda index, params: evaluate(backtest, index, params))


def optimize(backtest: BacktestLike, params: Mapping[str, Any] | Iterable[str], *,
             maximize: str | None = None, minimize: str | None = None,
             constraints: Iterable[str | Constraint] = (), method: str = "grid",
             trials: int | None = None, seed: int | None = 0, workers: int | None = None,
             dask_scheduler: str | None = None, results_path: str | Path | None = None,
             storage: str | None = None, study_name: str | None = None,
             progress: Progress | None = None, fast: FastOption = "auto") -> SweepResult:
    """Search ``params`` for the best ``maximize`` (default ``sharpe``) or ``minimize``
    metric under ``constraints``; see ``docs/research.md``.

    ``params``: ``{"fast": "5:50:5", "slow": range(20, 201, 10), "allow_short": [False,
    True]}`` or ``["fast=5:50:5", ...]``. ``method``: ``grid`` (every point), ``random``
    (``trials`` distinct points, seeded), ``bayes`` (Optuna, ``trials`` trials, its study
    in ``storage``: a database URL, default the platform's database). ``fast``: the
    compiled fast path for grid and random search (module docstring); Bayesian search
    proposes one point at a time and runs the engine.
    """
    if maximize and minimize:
        raise ConfigError("give either maximize or minimize, not both")
    objective = Objective(minimize, False) if minimize else Objective(maximize or "sharpe")
    rules = [c if isinstance(c, Constraint) else Constraint.parse(c) for c in constraints]
    for metric in [objective.metric, *(c.metric for c in rules)]:
        check_metric(metric, metric_names())
    space = ParamSpace.parse(params)
    if method not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if trials is not None and trials < 1:
        raise ConfigError(f"trials must be at least 1, got {trials}")
    if method == "bayes" and fast is True:
        raise ConfigError("the fast path runs grid and random search; Bayesian search "
                          "runs the event-driven engine (fast='auto' or False)")
    if method == "bayes":
        from trading_strategy.research.bayes import optimize_bayes

        found = optimize_bayes(backtest, space, objective, rules, trials=trials or 50,
                               seed=seed, storage=storage, study_name=study_name,
                               progress=progress)
    else:
        points = (list(space.grid()) if method == "grid"
                  else space.sample(trials or min(space.size, 50), seed))
        found = run_trials(backtest, points, workers=workers, dask_scheduler=dask_scheduler,
                           results_path=results_path, progress=progress, fast=fast)
    return SweepResult(found, space, objective, rules, method=method,
                       periods_per_year=periods_per_year_of(backtest))


def metric_names() -> list[str]:
    """The metrics a trial's stats hold (the report's metric names)."""
    from dataclasses import fields

    from trading_strategy.backtesting.metrics import Metrics

    return [f.name for f in fields(Metrics)] + ["open_trades", "final_equity"]


def periods_per_year_of(backtest: BacktestLike) -> float:
    from trading_strategy.backtesting.runner import periods_per_year

    return float(periods_per_year(backtest.bars, backtest.settings))
