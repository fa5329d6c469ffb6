"""Bayesian search with Optuna (TPE), its study in a database so that an interrupted
search resumes and several machines can work on one study.

The study lives at ``storage`` (an SQLAlchemy URL; default the platform's database, SQLite
unless configured; ``"memory"``: in this process only) under a name derived from the
strategy, the data and the space, so the same command run again continues the same study:
it runs only the trials still missing.
A point the strategy's validation refuses, a failed run and one outside the constraints
are recorded as pruned trials with the reason in their user attributes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from trading_strategy.core.errors import ConfigError
from trading_strategy.research.grid import Constraint, Dimension, Objective, ParamSpace
from trading_strategy.research.trial import Trial, evaluate

if TYPE_CHECKING:
    from trading_strategy.research.target import BacktestLike

Progress = Callable[[int, int, float, float | None], None]

#: ``storage`` for a study kept in this process only (walk-forward's windows by default:
#: a study per window would fill the database)
MEMORY = "memory"


def default_storage() -> str:
    from trading_strategy.config import load_settings

    return load_settings(None).effective_database_url()


def study_name_for(backtest: BacktestLike, space: ParamSpace, objective: Objective,
                   constraints: Sequence[Constraint]) -> str:
    bars = backtest.bars
    key = json.dumps({"strategy": backtest.strategy.name, "symbol": bars.instrument.symbol,
                      "timeframe": str(bars.timeframe), "start": int(bars.ts[0]),
                      "end": int(bars.ts[-1]), "n": len(bars),
                      "space": {d.name: list(d.values) for d in space.dimensions},
                      "objective": str(objective), "constraints": [str(c) for c in constraints]},
                     sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f"{backtest.strategy.name}-{bars.instrument.symbol}-{digest}"


def _suggest(trial: Any, dim: Dimension) -> Any:
    if dim.low is not None and dim.high is not None and dim.step is not None:
        if dim.is_int_range:
            return trial.suggest_int(dim.name, int(dim.low), int(dim.high), step=int(dim.step))
        return trial.suggest_float(dim.name, dim.low, dim.high, step=dim.step)
    if len(dim.values) == 1:
        return dim.values[0]
    return trial.suggest_categorical(dim.name, list(dim.values))


def _sqlite_url(storage: str) -> str:
    # Optuna's RDB storage takes a plain SQLAlchemy URL; ours may name a driver it lacks
    return storage.replace("sqlite+pysqlite://", "sqlite://")


def optimize_bayes(backtest: BacktestLike, space: ParamSpace, objective: Objective,
                   constraints: Sequence[Constraint], *, trials: int, seed: int | None = 0,
                   storage: str | None = None, study_name: str | None = None,
                   progress: Progress | None = None) -> list[Trial]:
    """Run until the study holds ``trials`` finished trials; return them all."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("--method bayes needs optuna: pip install optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = None if storage == MEMORY else _sqlite_url(storage or default_storage())
    name = study_name or study_name_for(backtest, space, objective, constraints)
    try:
        study = optuna.create_study(
            study_name=name, storage=url, load_if_exists=True,
            direction="maximize" if objective.maximize else "minimize",
            sampler=optuna.samplers.TPESampler(seed=seed))
    except Exception as exc:  # a bad URL or an unreachable server: one line, no traceback
        raise ConfigError(f"cannot open the Optuna study {name!r} at the storage: "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    started = time.monotonic()
    already = len(study.get_trials(deepcopy=False, states=finished))
    if progress is not None:
        progress(min(already, trials), trials, 0.0, None)

    def run_one(trial: Any) -> float:
        params = {d.name: _suggest(trial, d) for d in space.dimensions}
        result = evaluate(backtest, trial.number, params)
        trial.set_user_attr("trial", result.to_dict())
        score = objective.score(result.stats) if result.status == "ok" else None
        if score is None or not all(c.holds(result.stats) for c in constraints):
            raise optuna.TrialPruned(result.message or "outside the constraints")
        return score

    def report(study: Any, trial: Any) -> None:
        if progress is not None:
            done = len(study.get_trials(deepcopy=False, states=finished))
            elapsed = time.monotonic() - started
            fresh = max(done - already, 1)
            progress(min(done, trials), trials, elapsed,
                     elapsed / fresh * max(trials - done, 0))

    missing = trials - already
    if missing > 0:
        study.optimize(run_one, n_trials=missing, callbacks=[report],
                       catch=(ValueError, ArithmeticError))
    out = []
    for frozen in study.get_trials(deepcopy=False, states=finished):
        row = frozen.user_attrs.get("trial")
        if row is not None:
            trial = Trial.from_dict(row)
            trial.index = frozen.number
            out.append(trial)
    return out
